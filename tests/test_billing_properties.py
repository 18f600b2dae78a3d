"""Billing invariants under any eligibility history (hypothesis; SPEC §2 Billing): after
each month is billed and issued, what was billed for every subscriber and every month so
far equals what today's eligibility says it costs (the retro lines carry each difference
once), and billing a month again before issuing it changes nothing.

The oracle is the test's own model of each subscriber (tier, last covered day) and the
rate table, not the code that builds the lines."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.dates import add_months
from db.models import Coverage, CoverageTier, Invoice, InvoiceLine, InvoiceStatus, Member
from tests.test_billing_run import RATES_2026, RATES_2027, SEP, bill, billing_group, issue

MONTHS = [add_months(SEP, n) for n in range(6)]  # September 2026 to February 2027
TIERS = [CoverageTier.EMPLOYEE, CoverageTier.EMPLOYEE_SPOUSE, CoverageTier.FAMILY]
EDIT = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(TIERS),
    st.one_of(st.none(), st.integers(0, 5)),  # last covered month (index), or open-ended
)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
Model = dict[str, tuple[CoverageTier, int | None]]


def cost(model: Model, name: str, month_index: int) -> int:
    tier, last = model[name]
    if last is not None and month_index > last:
        return 0
    rates = RATES_2027 if MONTHS[month_index].year == 2027 else RATES_2026
    return rates[tier]


@EXAMPLES
@given(edits=st.lists(st.lists(EDIT, max_size=2), min_size=6, max_size=6))
async def test_billed_equals_todays_cost_for_every_month_after_each_run(
    sessions: async_sessionmaker[AsyncSession],
    edits: list[list[tuple[str, CoverageTier, int | None]]],
) -> None:
    async with sessions() as session, session.begin_nested() as example:
        group, _, members = await billing_group(session)
        model: Model = {name: (CoverageTier(tier), None) for name, tier in
                        (("A", "EMPLOYEE"), ("B", "FAMILY"), ("C", "EMPLOYEE"))}  # fmt: skip
        for index, month in enumerate(MONTHS):
            for name, tier, last in edits[index]:
                model[name] = (tier, last)
                await _edit(session, members[name], tier, last)
            draft = await bill(session, group, month)
            assert (await bill(session, group, month)).outcome in ("UNCHANGED", "NOTHING_TO_BILL")
            if draft.invoice_id is not None:
                await issue(session, draft.invoice_id)
            billed = await _billed(session)
            for name, member in members.items():
                for past in range(index + 1):
                    owed = cost(model, name, past)
                    assert billed.get((member.id, MONTHS[past]), 0) == owed, (name, past)
        await example.rollback()


async def _edit(
    session: AsyncSession, member: Member, tier: CoverageTier, last: int | None
) -> None:
    """The subscriber's one span, re-tiered from the start and ending after month ``last``."""
    end = None if last is None else add_months(MONTHS[last], 1) - dt.timedelta(days=1)
    await session.execute(
        update(Coverage)
        .where(Coverage.member_id == member.id)
        .values(tier=tier, termination_date=end)
    )


async def _billed(session: AsyncSession) -> dict[tuple[int, dt.date], int]:
    rows = await session.execute(
        select(InvoiceLine.member_id, InvoiceLine.service_month, func.sum(InvoiceLine.amount_cents))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.status == InvoiceStatus.ISSUED)
        .group_by(InvoiceLine.member_id, InvoiceLine.service_month)
    )
    totals: dict[tuple[int, dt.date], int] = defaultdict(int)
    for member_id, month, cents in rows:
        totals[(member_id, month)] = int(cents)
    return totals
