"""Billing-run benchmark (not a test) over the benchmark database (1,000 groups / 100,000
members by default, seeded as ``bench.run`` seeds it), through the real job: the month
before is built, run again (every draft already right) and issued; then the month is
built, its run also computing the retro lines against what was issued.

Prints groups and invoice lines per second for each run and invoices per second for the
issuing. SQLite is measured on a copy of the seeded file (issuing enters the ledger, which
cannot be undone). Results go to ``bench/results/billing-<database>-latest.json``/``.md``.

    python -m bench.billing_run [--database-url URL] [--month 2026-12]
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

from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.services import billing_jobs, invoices
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.bank_data import cipher_for
from api.services.dates import add_months, utc_now
from api.settings import DEV_BANK_DATA_KEY
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


async def _timed_issue(engine: AsyncEngine, month: dt.date) -> dict[str, float | int]:
    """Issue every draft of ``month``, each in its own transaction, as invoicesIssue does."""
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        drafts = await invoices.drafts_of(session, month)
    cipher = cipher_for(DEV_BANK_DATA_KEY)
    started = time.perf_counter()
    for invoice_id in drafts:
        async with sessions.begin() as session:
            invoice = await invoices.locked_invoice(session, invoice_id)
            trail = AuditTrail(Actor(None, "bench"), RequestOrigin(None, "bench", None))
            await invoices.issue(session, invoice, user_id=None, audit=trail, now=utc_now(),
                                 carrier="Bench", cipher=cipher)  # fmt: skip
            await trail.flush(session)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "invoices": len(drafts),
            "invoices_per_s": round(len(drafts) / seconds, 1)}  # fmt: skip


async def _measure(url: str, month: dt.date) -> dict[str, Any]:
    """The month before ``month`` built, built again and issued; then ``month``, whose run
    also computes the retro lines against what was issued."""
    before = add_months(month, -1)
    engine = create_engine(url)
    try:
        await _clear(engine, before)
        result = {
            "month": month.isoformat(),
            "first": await _timed_run(engine, before),
            "again": await _timed_run(engine, before),
            "issue": await _timed_issue(engine, before),
            "next": await _timed_run(engine, month),
        }
    finally:
        await engine.dispose()
    return result


def _markdown(database: str, result: dict[str, Any]) -> str:
    head = "| run | groups | invoice lines | seconds | groups/s | lines/s |"
    phases = (("build the month before", "first"), ("run it again", "again"),
              ("build the month, with retro", "next"))  # fmt: skip
    rows = [
        f"| {name} | {r['groups']} | {r['lines']} | {r['seconds']} | {r['groups_per_s']} "
        f"| {r['lines_per_s']} |"
        for name, r in ((name, result[key]) for name, key in phases)
    ]
    issue = result["issue"]
    issued = (f"Issuing the month before's {issue['invoices']} drafts: {issue['seconds']} s "
              f"({issue['invoices_per_s']} invoices/s).")  # fmt: skip
    title = f"Billing runs on {database}, month {result['month']}"
    return "\n".join([title, "", head, "|---|--:|--:|--:|--:|--:|", *rows, "", issued, ""])


def _working_copy(url: str) -> str:
    """Issuing enters the ledger, which cannot be undone: measure on a copy of the file."""
    source = Path(str(make_url(url).database))
    copy = source.with_name("billing-bench.db")
    shutil.copyfile(source, copy)
    return f"sqlite+aiosqlite:///{copy}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing_run", description=__doc__)
    parser.add_argument("--database-url", default=None, help="default: bench.run's SQLite file")
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--month",
        default="2026-12",
        help="YYYY-MM (default 2026-12; the month before is built and issued first)",
    )
    args = parser.parse_args(argv)
    url = args.database_url or default_database_url(args.groups, args.members)
    prepare_database(Options(url, args.groups, args.members, 1, 1, reseed=False))
    if is_sqlite(url):
        url = _working_copy(url)
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
