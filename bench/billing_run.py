"""Billing-run benchmark (not a test): the run of a month over the benchmark database
(1,000 groups / 100,000 members by default, seeded as ``bench.run`` seeds it), through the
real job, first building every draft and then again (every draft already right).

Prints groups per second and invoice lines per second for both runs. Drafts and runs left
by an earlier benchmark are removed first (drafts are not in the ledger). Results go to
``bench/results/billing-<database>-latest.json`` and ``.md``.

    python -m bench.billing_run [--database-url URL] [--month 2026-12]
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
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.services import billing_jobs
from api.services.audit import Actor
from bench.run import Options, default_database_url, prepare_database
from db.models import BillingRun, Invoice, InvoiceLine, InvoiceStatus
from db.session import create_engine, create_sessionmaker, is_sqlite

RESULTS = Path(__file__).parent / "results"
LEASE = dt.timedelta(minutes=30)


async def _clear(engine: AsyncEngine, month: dt.date) -> None:
    """Forget the month's drafts and every run, so the first run builds everything."""
    drafts = select(Invoice.id).where(Invoice.month == month, Invoice.status == InvoiceStatus.DRAFT)
    async with create_sessionmaker(engine).begin() as session:
        await session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(drafts)))
        await session.execute(delete(Invoice).where(Invoice.id.in_(drafts)))
        await session.execute(delete(BillingRun))


async def _timed_run(engine: AsyncEngine, month: dt.date) -> dict[str, float | int]:
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        run = await billing_jobs.queue_run(session, month, group_numbers=None, user_id=None)
        await session.flush()
        run_id = run.id
    started = time.perf_counter()
    await billing_jobs.run_job(sessions, run_id, lease=LEASE, actor=Actor(None, "bench"))
    seconds = time.perf_counter() - started
    async with sessions() as session:
        done = await session.get_one(BillingRun, run_id)
        lines = await session.scalar(
            select(func.count())
            .select_from(InvoiceLine)
            .join(Invoice)
            .where(Invoice.month == month)
        )
    return {"seconds": round(seconds, 2), "groups": done.groups_done,
            "created": done.created_count, "unchanged": done.unchanged_count,
            "lines": int(lines or 0), "groups_per_s": round(done.groups_done / seconds, 1),
            "lines_per_s": round(int(lines or 0) / seconds, 1)}  # fmt: skip


async def _measure(url: str, month: dt.date) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await _clear(engine, month)
        first = await _timed_run(engine, month)
        second = await _timed_run(engine, month)
    finally:
        await engine.dispose()
    return {"month": month.isoformat(), "first": first, "again": second}


def _markdown(database: str, result: dict[str, Any]) -> str:
    head = "| run | groups | invoice lines | seconds | groups/s | lines/s |"
    rows = [
        f"| {name} | {r['groups']} | {r['lines']} | {r['seconds']} | {r['groups_per_s']} "
        f"| {r['lines_per_s']} |"
        for name, r in (("build", result["first"]), ("again", result["again"]))
    ]
    title = f"Billing run of {result['month']} on {database}"
    return "\n".join([title, "", head, "|---|--:|--:|--:|--:|--:|", *rows, ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing_run", description=__doc__)
    parser.add_argument("--database-url", default=None, help="default: bench.run's SQLite file")
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--month", default="2026-12", help="YYYY-MM (default 2026-12)")
    args = parser.parse_args(argv)
    url = args.database_url or default_database_url(args.groups, args.members)
    prepare_database(Options(url, args.groups, args.members, 1, 1, reseed=False))
    month = dt.date.fromisoformat(f"{args.month}-01")
    result = asyncio.run(_measure(url, month))
    database = "SQLite" if is_sqlite(url) else "PostgreSQL"
    RESULTS.mkdir(exist_ok=True)
    stem = f"billing-{database.lower()}-latest"
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = _markdown(database, result)
    (RESULTS / f"{stem}.md").write_text(markdown)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
