"""`portal bill --month 2027-01 [--group G]`: the billing run of a coverage month, with
progress on standard error and a summary on standard output (issue: billing)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import billing_jobs, billing_run
from api.services.audit import Actor
from api.services.dates import today
from api.services.money import format_usd
from api.services.rules import RuleViolation
from api.settings import get_settings
from db.models import BillingRun, BillingRunStatus
from db.session import create_engine, create_sessionmaker


def _bill(args: argparse.Namespace) -> int:
    try:
        month = billing_run.check_month(args.month, today())
    except RuleViolation as refused:
        return _fail(refused.problems[0].message)
    groups = [g.strip().upper() for g in args.group] if args.group else None
    run = asyncio.run(_run(month, groups))
    if isinstance(run, str):
        return _fail(run)
    print(_summary(run))  # noqa: T201
    return 0 if run.status is BillingRunStatus.COMPLETED else 1


async def _run(month: dt.date, groups: list[str] | None) -> BillingRun | str:
    """The month's run, queued here (or a run of it whose worker died, resumed) and run
    in this process; a message when another worker is running the month."""
    settings = get_settings()
    engine = create_engine(settings.database_url)
    lease = dt.timedelta(seconds=settings.billing_job_lease_seconds)
    try:
        sessions = create_sessionmaker(engine)
        run_id = await _queue_or_resume(sessions, month, groups)
        if isinstance(run_id, str):
            return run_id
        actor = Actor(None, "portal bill")
        await billing_jobs.run_job(sessions, run_id, lease=lease, actor=actor, progress=_progress)
        async with sessions() as session:
            return await session.get_one(BillingRun, run_id)
    finally:
        await engine.dispose()


async def _queue_or_resume(
    sessions: async_sessionmaker[AsyncSession], month: dt.date, groups: list[str] | None
) -> int | str:
    async with sessions.begin() as session:
        running = await billing_jobs.in_progress(session, month)
        if running is None:
            run = await billing_jobs.queue_run(session, month, group_numbers=groups, user_id=None)
            await session.flush()
            return run.id
    if billing_jobs.claimable_now(running):
        return running.id
    return f"billing run {running.id} of {month:%Y-%m} is in progress elsewhere; try later"


def _summary(run: BillingRun) -> str:
    counts = (f"{run.created_count} created, {run.rebuilt_count} rebuilt, "
              f"{run.unchanged_count} unchanged, {run.issued_count} already issued, "
              f"{run.empty_count} with nothing to bill")  # fmt: skip
    head = f"billing run {run.id} of {run.month:%Y-%m} {run.status.value.lower()}"
    return f"{head}: {counts}; invoices total {format_usd(run.total_cents)}"


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"  {done}/{total} groups", file=sys.stderr, flush=True)  # noqa: T201


def _fail(message: str) -> int:
    print(f"portal bill: {message}", file=sys.stderr)  # noqa: T201
    return 1


def _month(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month as YYYY-MM") from None


def add_billing_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "bill", help="build the DRAFT invoices of a coverage month (idempotent)"
    )
    command.add_argument("--month", type=_month, required=True, help="the month, YYYY-MM")
    command.add_argument(
        "--group", action="append", help="only this group (repeatable), e.g. G100001"
    )
    command.set_defaults(handler=_bill)
