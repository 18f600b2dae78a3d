"""Group balances and aging, computed in SQL from the ledger (SPEC §2 Billing: "every
balance is derived from it"; issue 7: "cheap enough for the dashboard of a leader with 50
groups in a handful of statements").

Three statements whatever the number of groups: the ledger totals, the invoice
aggregates (past due, aging, paid-through) and the unapplied credit. For every group:

    total = open on invoices - credit + group-level adjustments

(each cent of a payment is either applied to an invoice or unapplied credit; a returned
payment is neither). ``as_of`` is the day days-past-due are counted on: an invoice due on
the 1st is 1 day past due on the 2nd. All entries recorded so far are counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import as_date, last_of_month
from api.services.open_items import invoice_amounts, payment_credit
from db.models import LedgerEntry, LedgerEntryKind

AGING_BUCKETS = ((1, 30), (31, 60), (61, 90), (91, None))
"""Days past due of the past-due buckets (SPEC §2 Billing: 1-30, 31-60, 61-90, 91+)."""


@dataclass(frozen=True, slots=True)
class Aging:
    """Open invoice money by days past due, in cents; ``current`` is not yet due."""

    current: int = 0
    days_1_to_30: int = 0
    days_31_to_60: int = 0
    days_61_to_90: int = 0
    days_91_plus: int = 0


@dataclass(frozen=True, slots=True)
class Balance:
    """A group's account as of a day, in cents. ``total``: the ledger's sum (positive: the
    group owes); ``past_due``: open on invoices due before ``as_of``; ``credit``: payment
    money not applied to any invoice; ``paid_through_date``: the last day of the last month
    whose invoice, and every earlier one, is fully paid (None: none is)."""

    group_id: int
    total: int
    past_due: int
    credit: int
    aging: Aging
    paid_through_date: dt.date | None


async def balances(
    session: AsyncSession, *, group_ids: Collection[int], as_of: dt.date
) -> dict[int, Balance]:
    """The balance of each group in ``group_ids`` (a group with no entries owes nothing)."""
    if not group_ids:
        return {}
    totals = await _ledger_totals(session, group_ids)
    invoices = await _invoice_aggregates(session, group_ids, as_of)
    credits = await _credits(session, group_ids)
    return {
        pk: _balance(pk, *totals.get(pk, (0, 0)), invoices.get(pk), credits.get(pk, 0))
        for pk in group_ids
    }


async def _ledger_totals(
    session: AsyncSession, group_ids: Collection[int]
) -> dict[int, tuple[int, int]]:
    """Per group: the ledger's sum, and what premium refunds returned (a refund gives
    back unapplied credit, so the credit shown is what is left of it)."""
    refunded = case((LedgerEntry.kind == LedgerEntryKind.REFUND, LedgerEntry.amount_cents), else_=0)
    stmt = (
        select(LedgerEntry.group_id, func.sum(LedgerEntry.amount_cents), func.sum(refunded))
        .where(LedgerEntry.group_id.in_(group_ids))
        .group_by(LedgerEntry.group_id)
    )
    rows = await session.execute(stmt)
    return {int(pk): (int(total), int(back)) for pk, total, back in rows}


async def _credits(session: AsyncSession, group_ids: Collection[int]) -> dict[int, int]:
    credit = payment_credit(group_ids)
    stmt = select(credit.c.group_id, func.sum(credit.c.unapplied)).group_by(credit.c.group_id)
    return {int(pk): int(cents) for pk, cents in await session.execute(stmt)}


async def _invoice_aggregates(
    session: AsyncSession, group_ids: Collection[int], as_of: dt.date
) -> dict[int, tuple[Any, ...]]:
    """Per group: the aging buckets (current first) and the last fully paid month before
    the first month with money open."""
    amounts = invoice_amounts(group_ids)
    first_open = (
        select(amounts.c.group_id, func.min(amounts.c.month).label("month"))
        .where(amounts.c.open_cents > 0)
        .group_by(amounts.c.group_id)
        .subquery("first_open")
    )
    is_open = amounts.c.open_cents > 0
    paid_before_first_open = and_(
        ~is_open, or_(first_open.c.month.is_(None), amounts.c.month < first_open.c.month)
    )
    buckets = [_open_when(is_open & (amounts.c.due_date >= as_of), amounts.c.open_cents)]
    for low, high in AGING_BUCKETS:
        due = _due_between(amounts.c.due_date, as_of, low, high)
        buckets.append(_open_when(is_open & due, amounts.c.open_cents))
    stmt = (
        select(
            amounts.c.group_id,
            *buckets,
            func.max(case((paid_before_first_open, amounts.c.month))),
        )
        .outerjoin(first_open, first_open.c.group_id == amounts.c.group_id)
        .group_by(amounts.c.group_id)
    )
    return {int(row[0]): tuple(row[1:]) for row in await session.execute(stmt)}


def _open_when(condition: ColumnElement[bool], cents: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, cents), else_=0)), 0)


def _due_between(due_date: Any, as_of: dt.date, low: int, high: int | None) -> ColumnElement[bool]:
    """``low <= (as_of - due_date).days <= high`` written as date bounds (portable SQL)."""
    latest = due_date <= as_of - dt.timedelta(days=low)
    if high is None:
        return latest  # type: ignore[no-any-return]
    return and_(latest, due_date >= as_of - dt.timedelta(days=high))


def _balance(
    group_id: int, total: int, refunded: int, invoices: tuple[Any, ...] | None, unapplied: int
) -> Balance:
    """``credit``: unapplied payment money less what refunds returned of it. (What else
    the group is owed, a final credit invoice or a credit adjustment, shows in a negative
    ``total``.)"""
    credit = max(0, unapplied - refunded)
    if invoices is None:
        return Balance(group_id, total, 0, credit, Aging(), None)
    *cents, paid_month = invoices
    aging = Aging(*(int(c) for c in cents))
    past_due = sum(int(c) for c in cents[1:])
    paid_through = None if paid_month is None else last_of_month(as_date(paid_month))
    return Balance(group_id, total, past_due, credit, aging, paid_through)
