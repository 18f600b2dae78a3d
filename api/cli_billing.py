"""`portal bill --month 2027-01 [--group G]`: the billing run of a coverage month, with
progress on standard error and a summary on standard output (issue: billing)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from api.services import billing_run
from api.services.audit import Actor
from api.services.dates import today
from api.services.money import format_usd
from api.services.rules import RuleViolation
from api.settings import get_settings
from db.session import create_engine, create_sessionmaker


def _bill(args: argparse.Namespace) -> int:
    try:
        month = billing_run.check_month(args.month, today())
    except RuleViolation as refused:
        print(f"portal bill: {refused.problems[0].message}", file=sys.stderr)  # noqa: T201
        return 1
    report = asyncio.run(_run(month, args.group))
    total = sum(result.total_cents for result in report.results)
    outcomes = ("CREATED", "REBUILT", "UNCHANGED", "ISSUED", "NOTHING_TO_BILL")
    counts = ", ".join(f"{report.count(o)} {o.lower().replace('_', ' ')}" for o in outcomes)
    print(f"billing run {month:%Y-%m}: {counts}; invoices total {format_usd(total)}")  # noqa: T201
    return 0


async def _run(month: dt.date, groups: list[str] | None) -> billing_run.RunReport:
    engine = create_engine(get_settings().database_url)
    try:
        return await billing_run.run_month(
            create_sessionmaker(engine), month, actor=Actor(None, "portal bill"),
            group_numbers=[g.strip().upper() for g in groups] if groups else None,
            progress=_progress,
        )  # fmt: skip
    finally:
        await engine.dispose()


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"  {done}/{total} groups", file=sys.stderr)  # noqa: T201


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
