"""The premium effect of eligibility changes: what each affected subscriber is billed per
month before and after (SPEC §2 Billing: "a subscriber is billed for month M at the tier
and rate in force on the 1st of M"; changes after a month was invoiced reach the next
invoice as retro adjustments).

The next invoice month is the month after today's: the invoice for M is generated from
the 15th of M-1 and due on the 1st of M, so the invoice of today's month is already due,
and the next one to be due (the group's "upcoming invoice") is the next month's. Earlier
months are retro months: their differences are what the next invoice adjusts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import add_months
from api.services.rating import billing_day, monthly_rate
from db.models import Coverage, CoverageTier

Month = dt.date
"""A month, as its 1st."""


@dataclass(frozen=True, slots=True)
class Billed:
    """What a subscriber is billed at for a month: the plan and tier in force on its 1st."""

    group_plan_id: int
    tier: CoverageTier


BillingState = dict[tuple[int, Month], Billed]
"""(subscriber pk, month) -> what is billed; absent: not covered on the month's 1st."""


@dataclass(frozen=True, slots=True)
class PremiumLine:
    """One subscriber's premium for one month, before and after the changes, in cents
    (``None``: not billed, i.e. not covered on the 1st or no rate in force)."""

    subscriber_pk: int
    month: Month
    before: Billed | None
    after: Billed | None
    before_cents: int | None
    after_cents: int | None

    @property
    def difference_cents(self) -> int:
        return (self.after_cents or 0) - (self.before_cents or 0)


def next_invoice_month(today: dt.date) -> Month:
    """The month of the next invoice to fall due: the one due on the next 1st."""
    return add_months(today, 1)


def months_between(first: dt.date, last: dt.date) -> list[Month]:
    """Every month from ``first``'s to ``last``'s, as 1sts (empty when ``first`` is later)."""
    months, month = [], billing_day(first)
    while month <= billing_day(last):
        months.append(month)
        month = add_months(month, 1)
    return months


async def billing_state(
    session: AsyncSession, subscriber_pks: Iterable[int], months: list[Month]
) -> BillingState:
    """What every subscriber of ``subscriber_pks`` is billed at in each of ``months``, from
    their coverage rows (one query)."""
    pks = sorted(set(subscriber_pks))
    if not pks or not months:
        return {}
    stmt = select(
        Coverage.member_id,
        Coverage.group_plan_id,
        Coverage.tier,
        Coverage.effective_date,
        Coverage.termination_date,
    ).where(
        Coverage.member_id.in_(pks),
        Coverage.effective_date <= months[-1],
        or_(Coverage.termination_date.is_(None), Coverage.termination_date >= months[0]),
    )
    state: BillingState = {}
    for pk, plan, tier, start, end in await session.execute(stmt):
        for month in months:
            if start <= month and (end is None or month <= end):
                state[(pk, month)] = Billed(plan, tier)
    return state


class _Rates:
    """``monthly_rate`` remembered per (plan, tier, month) for one computation."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._known: dict[tuple[int, CoverageTier, Month], int | None] = {}

    async def of(self, billed: Billed | None, month: Month) -> int | None:
        if billed is None:
            return None
        key = (billed.group_plan_id, billed.tier, month)
        if key not in self._known:
            self._known[key] = await monthly_rate(
                self._session, group_plan_id=billed.group_plan_id, tier=billed.tier, month=month
            )
        return self._known[key]


async def premium_lines(
    session: AsyncSession,
    *,
    subscriber_pks: Iterable[int],
    before: BillingState,
    after: BillingState,
    months: list[Month],
) -> list[PremiumLine]:
    """Per subscriber and month, old and new premium. The last of ``months`` (the next
    invoice) always has a line; an earlier (retro) month only when its premium changes."""
    rates, lines = _Rates(session), []
    for pk in sorted(set(subscriber_pks)):
        for month in months:
            old, new = before.get((pk, month)), after.get((pk, month))
            cents = await rates.of(old, month), await rates.of(new, month)
            line = PremiumLine(pk, month, old, new, *cents)
            if month == months[-1] or line.difference_cents or old != new:
                lines.append(line)
    return lines


def total_cents(lines: Iterable[PremiumLine]) -> int:
    """The sum of the lines' differences: what the next invoice changes by."""
    return sum(line.difference_cents for line in lines)
