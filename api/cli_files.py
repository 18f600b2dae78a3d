"""`portal import-eligibility FILE --group G`: an eligibility file through the same job the
portal upload starts, run here with progress on standard error (issue: eligibility files)."""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.eligibility_files.intake import Upload, guess_format, receive
from api.services.eligibility_files.jobs import JobSettings, run_job
from api.services.rules import RuleViolation
from api.settings import get_settings
from db.models import EligibilityFile, EligibilityFileProblem, Group
from db.session import create_engine, create_sessionmaker


def _import(args: argparse.Namespace) -> int:
    path = pathlib.Path(args.file)
    if not path.is_file():
        return _fail(f"{path} is not a file")
    upload = _upload(path.name, path.read_bytes())
    return asyncio.run(_run(upload, args.group.strip().upper()))


def _upload(name: str, content: bytes) -> Upload:
    return Upload(name, content, guess_format(content), source="CLI")


async def _run(upload: Upload, group_number: str) -> int:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        sessions = create_sessionmaker(engine)
        file_id = await _receive(sessions, upload, group_number, settings.max_file_bytes)
        if file_id is None:
            return 1
        await run_job(sessions, JobSettings.from_settings(settings), file_id, progress=_progress)
        return await _report(sessions, file_id)
    finally:
        await engine.dispose()


async def _receive(
    sessions: async_sessionmaker[AsyncSession], upload: Upload, number: str, max_bytes: int
) -> int | None:
    async with sessions.begin() as session:
        group = await session.scalar(select(Group).where(Group.group_number == number))
        if group is None:
            _fail(f"no group {number}")
            return None
        try:
            received = await receive(session, group=group, upload=upload, max_bytes=max_bytes)
        except RuleViolation as refused:
            _fail(refused.problems[0].message)
            return None
    if received.duplicate:
        print(f"this file was received before (file {received.file.id})", file=sys.stderr)  # noqa: T201
    return received.file.id


def _progress(file: EligibilityFile) -> None:
    print(  # noqa: T201
        f"  {file.members_processed}/{file.members_total} members", file=sys.stderr, end="\r"
    )


async def _report(sessions: async_sessionmaker[AsyncSession], file_id: int) -> int:
    async with sessions() as session:
        file = await session.get_one(EligibilityFile, file_id)
        problems = await session.scalars(
            select(EligibilityFileProblem)
            .where(EligibilityFileProblem.file_id == file_id)
            .order_by(EligibilityFileProblem.position, EligibilityFileProblem.id)
        )
        print(  # noqa: T201
            f"file {file.id}: {file.status.value}; {file.members_processed} of "
            f"{file.members_total or 0} members; {file.applied_count} applied, "
            f"{file.pending_count} pending review, {file.rejected_count} rejected"
        )
        for problem in problems:
            who = f" ({problem.member})" if problem.member else ""
            print(f"  line {problem.position}{who}: {problem.code}: {problem.message}")  # noqa: T201
    return 0 if file.status.value.startswith("COMPLETED") else 1


def _fail(message: str) -> int:
    print(f"portal import-eligibility: {message}", file=sys.stderr)  # noqa: T201
    return 1


def add_file_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "import-eligibility", help="apply an eligibility file (CSV roster) to a group"
    )
    command.add_argument("file", help="path of the file")
    command.add_argument("--group", required=True, help="the group's number, e.g. G100001")
    command.set_defaults(handler=_import)
