"""Eligibility-file import benchmark (not a test): an X12 834 of N subscribers, each with a
spouse and a child, through the real job on a fresh SQLite database of its own.

Prints members per second and the share of the time spent reading and validating the file
(pyx12's validation and 999, then the loop-aware read) against applying it (one
transaction per family through the eligibility rules). Results go to
``bench/results/import-latest.json`` and ``.md``.

    python -m bench.file_import [--subscribers 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from api.services.dates import add_months, today
from api.services.eligibility_files import jobs, x12_834
from api.services.eligibility_files.intake import Upload, receive
from api.settings import Settings
from db.migrate import upgrade
from db.models import EligibilityFile, FileFormat, Group, GroupPlan, Plan
from db.seed import seed
from db.session import create_engine, create_sessionmaker
from tests.x12_corpus import family, interchange

DATA = Path(__file__).parent / ".data"
RESULTS = Path(__file__).parent / "results"
SSN_KEY = "bench-import-ssn-key-of-at-least-32-chars"


def _fresh_database() -> str:
    DATA.mkdir(exist_ok=True)
    path = DATA / "import.db"
    path.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return url


async def _group_and_plan(url: str) -> tuple[str, str]:
    engine = create_engine(url)
    await seed(engine, groups=2, members=20, seed=1, ssn_hash_key=SSN_KEY)
    async with create_sessionmaker(engine)() as session:
        row = (
            await session.execute(
                select(Group.group_number, Plan.code)
                .join(GroupPlan, GroupPlan.group_id == Group.id)
                .join(Plan, Plan.id == GroupPlan.plan_id)
                .order_by(Group.id, Plan.code)
                .limit(1)
            )
        ).one()
    await engine.dispose()
    return row[0], row[1]


async def _run(url: str, content: bytes, number: str) -> tuple[float, EligibilityFile]:
    settings = Settings(database_url=url, ssn_hash_key=SSN_KEY)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        group = await session.scalar(select(Group).where(Group.group_number == number))
        assert group is not None
        upload = Upload("bench.834", content, FileFormat.X12_834, source="CLI")
        received = await receive(session, group=group, upload=upload, max_bytes=len(content))
    started = time.perf_counter()
    await jobs.run_job(sessions, jobs.JobSettings.from_settings(settings), received.file.id)
    seconds = time.perf_counter() - started
    async with sessions() as session:
        file = await session.get_one(EligibilityFile, received.file.id)
    await engine.dispose()
    return seconds, file


def measure(subscribers: int) -> dict[str, object]:
    url = _fresh_database()
    number, plan = asyncio.run(_group_and_plan(url))
    start = add_months(today().replace(day=1), 1)
    families = [family(n, plan=plan, start=start) for n in range(subscribers)]
    content = interchange(families, group_number=number)
    members = sum(1 + len(f.dependents) for f in families)
    parse_started = time.perf_counter()
    parsed = x12_834.parse(content, ssn_key=SSN_KEY).parsed
    parse_seconds = time.perf_counter() - parse_started
    if parsed.rejected is not None or parsed.problems:
        raise SystemExit(f"bench: the generated file does not read cleanly: {parsed.problems[:3]}")
    total, file = asyncio.run(_run(url, content, number))
    apply_seconds = max(total - parse_seconds, 0.0)
    return {
        "subscribers": subscribers, "members": members, "file_bytes": len(content),
        "status": file.status.value, "applied": file.applied_count,
        "seconds": round(total, 2), "members_per_second": round(members / total, 1),
        "parse_validate_seconds": round(parse_seconds, 2),
        "apply_seconds": round(apply_seconds, 2),
        "parse_share": round(parse_seconds / total, 3),
    }  # fmt: skip


def render(result: dict[str, object]) -> str:
    return "\n".join(
        [
            "# Eligibility-file import benchmark",
            "",
            f"- Run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, SQLite, one job worker",
            f"- File: X12 834, {result['subscribers']:,} subscribers, {result['members']:,} "
            f"members, {result['file_bytes']:,} bytes; status {result['status']}, "
            f"{result['applied']:,} changes applied",
            "",
            "| members/s | total s | parse + validate s | apply s | parse share |",
            "|--:|--:|--:|--:|--:|",
            f"| {result['members_per_second']} | {result['seconds']} | "
            f"{result['parse_validate_seconds']} | {result['apply_seconds']} | "
            f"{float(str(result['parse_share'])):.0%} |",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.file_import")
    parser.add_argument("--subscribers", type=int, default=10_000)
    result = measure(parser.parse_args(argv).subscribers)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = render(result)
    (RESULTS / "import-latest.md").write_text(markdown)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
