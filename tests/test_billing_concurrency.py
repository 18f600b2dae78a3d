"""A billing run concurrent with an eligibility change, on PostgreSQL with real committed
transactions (issue 7: "the change shows up either in this invoice or as a retro line on
the next, never lost and never twice").

Each month, the group's invoice is built while another transaction re-tiers subscriber A
from the start of coverage. Whatever the interleaving, once every month is billed what
was billed for each month equals what the final eligibility says it costs. The rows
bypass the test transaction, so the group is removed in a ``finally``."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.dates import add_months
from db.models import (
    Coverage,
    CoverageTier,
    Group,
    GroupPlan,
    Invoice,
    InvoiceLine,
    Member,
    RateSchedule,
    TierRate,
)
from tests.test_billing_run import RATES_2026, RATES_2027, SEP, bill, billing_group, issue

pytestmark = pytest.mark.postgres_only

MONTHS = [add_months(SEP, n) for n in range(5)]  # September 2026 to January 2027
TIERS = (CoverageTier.EMPLOYEE_SPOUSE, CoverageTier.EMPLOYEE)


async def _remove(sessions: async_sessionmaker[AsyncSession], group_id: int) -> None:
    members = select(Member.id).where(Member.group_id == group_id)
    plans = select(GroupPlan.id).where(GroupPlan.group_id == group_id)
    schedules = select(RateSchedule.id).where(RateSchedule.group_plan_id.in_(plans))
    invoices = select(Invoice.id).where(Invoice.group_id == group_id)
    async with sessions.begin() as session:
        await session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoices)))
        await session.execute(delete(Invoice).where(Invoice.group_id == group_id))
        await session.execute(delete(Coverage).where(Coverage.member_id.in_(members)))
        await session.execute(delete(Member).where(Member.group_id == group_id))
        await session.execute(delete(TierRate).where(TierRate.rate_schedule_id.in_(schedules)))
        await session.execute(delete(RateSchedule).where(RateSchedule.group_plan_id.in_(plans)))
        await session.execute(delete(GroupPlan).where(GroupPlan.group_id == group_id))
        await session.execute(delete(Group).where(Group.id == group_id))


async def _bill_and_issue(
    sessions: async_sessionmaker[AsyncSession], group: Group, month: dt.date
) -> None:
    async with sessions.begin() as session:
        result = await bill(session, group, month)
        await issue(session, result.invoice_id)


async def _retier(sessions: async_sessionmaker[AsyncSession], member_id: int, tier: str) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(Coverage).where(Coverage.member_id == member_id).values(tier=tier)
        )


async def test_a_change_during_a_run_is_billed_once(
    committing: async_sessionmaker[AsyncSession],
) -> None:
    async with committing.begin() as session:
        group, _, members = await billing_group(session)
    try:
        a = members["A"].id
        for index, month in enumerate(MONTHS[:-1]):
            tier = TIERS[index % 2]
            await asyncio.gather(_bill_and_issue(committing, group, month),
                                 _retier(committing, a, tier))  # fmt: skip
        await _bill_and_issue(committing, group, MONTHS[-1])  # nothing changes meanwhile
        final = TIERS[(len(MONTHS) - 2) % 2]
        async with committing() as session:
            billed = dict(
                (await session.execute(
                    select(InvoiceLine.service_month, func.sum(InvoiceLine.amount_cents))
                    .where(InvoiceLine.member_id == a)
                    .group_by(InvoiceLine.service_month)
                )).all()
            )  # fmt: skip
        for month in MONTHS:
            rates = RATES_2027 if month.year == 2027 else RATES_2026
            assert billed[month] == rates[final], month
    finally:
        await _remove(committing, group.id)
