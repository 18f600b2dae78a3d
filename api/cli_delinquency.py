"""`portal delinquency [--as-of 2027-02-15]`: the daily delinquency run of a day, with
progress on standard error and a summary on standard output (SPEC §5; issue 8: "safe to
schedule with cron and idempotent for a date")."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.delinquency_worker import run_context
from api.services.audit import Actor
from api.services.dates import today
from api.services.delinquency import jobs
from api.services.rules import RuleViolation
from api.settings import get_settings
from db.models import DelinquencyRun, DelinquencyRunStatus
from db.session import create_engine, create_sessionmaker


def _delinquency(args: argparse.Namespace) -> int:
    run = asyncio.run(_run(args.as_of or today()))
    if isinstance(run, str):
        print(f"portal delinquency: {run}", file=sys.stderr)  # noqa: T201
        return 1
    print(_summary(run))  # noqa: T201
    return 0 if run.status is DelinquencyRunStatus.COMPLETED else 1


async def _run(as_of: dt.date) -> DelinquencyRun | str:
    """The day's run, queued here (or the day's run already queued, or whose worker died)
    and run in this process; a message when refused or running elsewhere."""
    settings = get_settings()
    engine = create_engine(settings.database_url)
    lease = dt.timedelta(seconds=settings.delinquency_job_lease_seconds)
    context = run_context(settings, Actor(None, "portal delinquency"))
    try:
        sessions = create_sessionmaker(engine)
        run_id = await _queue(sessions, as_of)
        if isinstance(run_id, str):
            return run_id
        await jobs.run_job(sessions, run_id, lease=lease, context=context, progress=_progress)
        async with sessions() as session:
            return await session.get_one(DelinquencyRun, run_id)
    finally:
        await engine.dispose()


async def _queue(sessions: async_sessionmaker[AsyncSession], as_of: dt.date) -> int | str:
    try:
        async with sessions.begin() as session:
            run = await jobs.queue_run(session, as_of, user_id=None, today=today())
            await session.flush()
    except RuleViolation as refused:
        return refused.problems[0].message
    if run.status is DelinquencyRunStatus.RUNNING and not jobs.claimable_now(run):
        return f"delinquency run {run.id} of {as_of} is in progress elsewhere; try later"
    return run.id


def _summary(run: DelinquencyRun) -> str:
    head = f"delinquency run {run.id} as of {run.as_of} {run.status.value.lower()}"
    return (
        f"{head}: {run.groups_done} groups assessed, {run.transitions_count} transitions, "
        f"{run.letters_count} letters drafted"
    )


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"  {done}/{total} groups", file=sys.stderr, flush=True)  # noqa: T201


def add_delinquency_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    command = commands.add_parser(
        "delinquency", help="run delinquency as of a day (daily; idempotent for a date)"
    )
    command.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None,
        help="the day, YYYY-MM-DD (default: today, UTC); not before the last run's day",
    )  # fmt: skip
    command.set_defaults(handler=_delinquency)
