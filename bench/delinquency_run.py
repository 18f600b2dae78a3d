"""Delinquency-run benchmark (not a test), through the real job, on the database the
billing benchmark leaves (``bench.billing_run``: November 2026 issued and unpaid for every
billable group, December built): the days a group first goes past due (every group opens
an episode and gets a first notice), the same day again (nothing changes), the second
notice, and a day on which nothing new happens but every open episode is refreshed.

SQLite is measured on a copy of the billing benchmark's copy. Results go to
``bench/results/delinquency-<database>-latest.json``/``.md``.

    python -m bench.delinquency_run [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.delinquency_worker import run_context
from api.services.audit import Actor
from api.services.dates import today
from api.services.delinquency import jobs
from api.settings import Settings
from bench.run import DATA_DIR
from db import models as m
from db.migrate import upgrade
from db.session import create_engine, create_sessionmaker, is_sqlite

RESULTS = Path(__file__).parent / "results"
LEASE = dt.timedelta(minutes=30)
DAYS = (("day 1: every group opens an episode", dt.date(2026, 11, 2)),
        ("day 1 again: nothing changes", dt.date(2026, 11, 2)),
        ("day 15: second notices", dt.date(2026, 11, 16)),
        ("day 20: nothing new, episodes refreshed", dt.date(2026, 11, 21)))  # fmt: skip


async def _clear(engine: AsyncEngine) -> None:
    """Forget earlier delinquency runs so the first day opens every episode."""
    async with create_sessionmaker(engine).begin() as session:
        for model in (m.DelinquencyLetter, m.DelinquencyTransition, m.DelinquencyEpisode,
                      m.DelinquencyRun):  # fmt: skip
            await session.execute(delete(model))


async def _timed_day(engine: AsyncEngine, as_of: dt.date) -> dict[str, Any]:
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        run = await jobs.queue_run(session, as_of, user_id=None, today=today())
        await session.flush()
        run_id = run.id
    context = run_context(Settings(), Actor(None, "bench"))
    started = time.perf_counter()
    await jobs.run_job(sessions, run_id, lease=LEASE, context=context)
    seconds = time.perf_counter() - started
    async with sessions() as session:
        done = await session.get_one(m.DelinquencyRun, run_id)
    return {"as_of": as_of.isoformat(), "seconds": round(seconds, 2),
            "groups": done.groups_done, "transitions": done.transitions_count,
            "letters": done.letters_count,
            "groups_per_s": round(done.groups_done / seconds, 1)}  # fmt: skip


async def _measure(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        await _clear(engine)
        return [{"phase": name, **await _timed_day(engine, day)} for name, day in DAYS]
    finally:
        await engine.dispose()


def _markdown(database: str, result: list[dict[str, Any]]) -> str:
    head = "| run | as of | groups | transitions | letters | seconds | groups/s |"
    rows = [
        f"| {r['phase']} | {r['as_of']} | {r['groups']} | {r['transitions']} | {r['letters']} "
        f"| {r['seconds']} | {r['groups_per_s']} |"
        for r in result
    ]
    title = f"Delinquency runs on {database} (November 2026 unpaid by every billable group)"
    return "\n".join([title, "", head, "|---|---|--:|--:|--:|--:|--:|", *rows, ""])


def _working_copy(url: str) -> str:
    source = Path(str(make_url(url).database))
    copy = source.with_name("delinquency-bench.db")
    shutil.copyfile(source, copy)
    return f"sqlite+aiosqlite:///{copy}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delinquency_run", description=__doc__)
    billing_copy = f"sqlite+aiosqlite:///{DATA_DIR / 'billing-bench.db'}"
    parser.add_argument("--database-url", default=billing_copy,
                        help="default: the billing benchmark's SQLite copy")  # fmt: skip
    url = parser.parse_args(argv).database_url
    if is_sqlite(url):
        url = _working_copy(url)
    upgrade(url)  # a copy made before the delinquency tables existed gets them
    result = asyncio.run(_measure(url))
    database = "SQLite" if is_sqlite(url) else "PostgreSQL"
    RESULTS.mkdir(exist_ok=True)
    stem = f"delinquency-{database.lower()}-latest"
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = _markdown(database, result)
    (RESULTS / f"{stem}.md").write_text(markdown)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
