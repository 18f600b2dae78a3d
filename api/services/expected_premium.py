"""What today's eligibility says a group's subscribers cost, month by month, and what was
billed for them (SPEC §2 Billing: "a subscriber is billed for month M at the tier and rate
in force on the 1st of M"; retro lines are "what the group should have been billed under
today's eligibility minus what it was billed").

Both are one statement per group whatever its size: the months are a small derived table
joined with the subscribers' coverage spans and the rate schedules in force on each 1st.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Date, Subquery, and_, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import as_date
from db.models import (
    Coverage,
    CoverageTier,
    GroupPlan,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberStatus,
    Plan,
    RateSchedule,
    Relationship,
    TierRate,
)

Month = dt.date
"""A month, as its 1st."""


@dataclass(frozen=True, slots=True)
class Charge:
    """A subscriber's premium for a month under today's eligibility. ``rate_cents`` is None
    when no rate schedule of the plan is in force on the 1st (the invoice cannot be issued)."""

    group_id: int
    subscriber_pk: int
    month: Month
    group_plan_id: int
    plan_code: str
    tier: CoverageTier
    rate_schedule_id: int | None
    rate_cents: int | None


@dataclass(frozen=True, slots=True)
class Billed:
    """What the group's issued invoices asked for a subscriber's month, premium and retro
    lines together, with the plan and tier of the last of them."""

    group_id: int
    subscriber_pk: int
    month: Month
    cents: int
    group_plan_id: int
    tier: CoverageTier


async def charges(
    session: AsyncSession, group_ids: Collection[int], months: Sequence[Month]
) -> list[Charge]:
    """Every subscriber's premium for each of ``months``: covered on its 1st, at the tier
    and plan of the span covering that day, at the rate in force then."""
    if not months or not group_ids:
        return []
    month = _months_table(months)
    covering = and_(
        Coverage.effective_date <= month.c.month,
        or_(Coverage.termination_date.is_(None), Coverage.termination_date >= month.c.month),
    )
    in_force = and_(
        RateSchedule.group_plan_id == Coverage.group_plan_id,
        RateSchedule.effective_from <= month.c.month,
        RateSchedule.effective_to >= month.c.month,
    )
    stmt = (
        select(
            Member.group_id, Member.id, month.c.month, Coverage.group_plan_id, Plan.code,
            Coverage.tier, RateSchedule.id, TierRate.monthly_premium_cents,
        )
        .join(Coverage, Coverage.member_id == Member.id)
        .join(month, covering)
        .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .outerjoin(RateSchedule, in_force)
        .outerjoin(TierRate, and_(TierRate.rate_schedule_id == RateSchedule.id,
                                  TierRate.tier == Coverage.tier))
        .where(Member.group_id.in_(group_ids), Member.relationship == Relationship.SUBSCRIBER)
        .where(Member.status != MemberStatus.MERGED)
        .order_by(month.c.month, Member.member_id)
    )  # fmt: skip
    rows = (await session.execute(stmt)).all()
    return [Charge(r[0], r[1], as_date(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]


def _months_table(months: Sequence[Month]) -> Subquery:
    """``months`` as a one-column derived table (portable: a UNION ALL of literals)."""
    selects = [select(literal(month, Date).label("month")) for month in months]
    return union_all(*selects).subquery("billing_months")


async def billed(session: AsyncSession, group_ids: Collection[int], before: Month) -> list[Billed]:
    """What the groups' issued invoices (not drafts, not void) asked per subscriber and
    service month before ``before``."""
    if not group_ids:
        return []
    stmt = (
        select(
            Invoice.group_id, InvoiceLine.member_id, InvoiceLine.service_month,
            func.sum(InvoiceLine.amount_cents), func.max(InvoiceLine.group_plan_id),
            func.max(InvoiceLine.tier),
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.group_id.in_(group_ids), Invoice.status.not_in(NOT_BILLED))
        .where(InvoiceLine.service_month < before)
        .group_by(Invoice.group_id, InvoiceLine.member_id, InvoiceLine.service_month)
    )  # fmt: skip
    rows = (await session.execute(stmt)).all()
    return [Billed(r[0], r[1], as_date(r[2]), int(r[3]), r[4], CoverageTier(r[5])) for r in rows]


NOT_BILLED = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)


async def first_billed_months(
    session: AsyncSession, group_ids: Collection[int]
) -> dict[int, Month]:
    """Per group, the earliest month it was billed for (an issued invoice, even one voided
    since: its months are billed again): retro starts there. Groups never billed: absent."""
    stmt = (
        select(Invoice.group_id, func.min(Invoice.month))
        .where(Invoice.group_id.in_(group_ids), Invoice.issued_at.is_not(None))
        .group_by(Invoice.group_id)
    )
    return {int(pk): as_date(month) for pk, month in await session.execute(stmt)}
