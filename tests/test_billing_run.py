"""The billing run, on a group built for the test so every amount is known by hand.

Rates (cents) of the group's plan: 2026 EMPLOYEE 4000, EMPLOYEE_SPOUSE 8000, FAMILY 12000;
renewal in 2027 EMPLOYEE_SPOUSE 8800. Three subscribers from September 2026:

| month | A (member)          | B           | C        | lines                        | total |
|-------|---------------------|-------------|----------|------------------------------|-------|
| Sep   | EMPLOYEE 4000       | FAMILY 12000| EMP 4000 | 3 premium                    | 20000 |
| Oct   | EMPLOYEE 4000       | FAMILY 12000| EMP 4000 | 3 premium                    | 20000 |
| (after Oct is issued: A's spouse added from 1 Oct; C terminated on 30 Sep)                |
| Nov   | EMPLOYEE_SPOUSE 8000| FAMILY 12000| -        | 2 premium, 2 retro (1)       | 20000 |
| (Nov still DRAFT: B terminated on 31 Oct; the run rebuilds the draft)                     |
| Nov   | EMPLOYEE_SPOUSE 8000| -           | -        | 1 premium + the same 2 retro | 8000  |
| Dec   | EMPLOYEE_SPOUSE 8000| -           | -        | 1 premium                    | 8000  |
| Jan 27| EMPLOYEE_SPOUSE 8800| -           | -        | 1 premium (renewal rate)     | 8800  |

(1) A October +4000 (billed EMPLOYEE 4000, owes EMPLOYEE_SPOUSE 8000); C October -4000.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import billing_run
from api.services.audit import Actor
from api.services.dates import utc_now
from api.services.eligibility import changes as c
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import Submitter, submit
from api.services.eligibility.rules import Limits
from api.services.rules import RuleViolation
from db.models import (
    BillingMode,
    ChangeStatus,
    Coverage,
    CoverageTier,
    Group,
    GroupPlan,
    GroupStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberStatus,
    Plan,
    RateSchedule,
    Relationship,
    Sex,
    TierRate,
)

SEP, OCT, NOV, DEC = (dt.date(2026, m, 1) for m in (9, 10, 11, 12))
JAN = dt.date(2027, 1, 1)
RATES_2026 = {CoverageTier.EMPLOYEE: 4000, CoverageTier.EMPLOYEE_SPOUSE: 8000,
              CoverageTier.EMPLOYEE_CHILDREN: 7500, CoverageTier.FAMILY: 12000}  # fmt: skip
RATES_2027 = {CoverageTier.EMPLOYEE: 4400, CoverageTier.EMPLOYEE_SPOUSE: 8800,
              CoverageTier.EMPLOYEE_CHILDREN: 8250, CoverageTier.FAMILY: 13200}  # fmt: skip


async def billing_group(session: AsyncSession) -> tuple[Group, int, dict[str, Member]]:
    """G900001 with one plan, its 2026 and 2027 rates, and subscribers A, B and C."""
    group = Group(group_number="G900001", name="Billing Test Co", address_line1="1 Main St",
                  city="Dayton", state="OH", postal_code="45402", status=GroupStatus.ACTIVE,
                  billing_mode=BillingMode.LIST_BILL, effective_date=SEP)  # fmt: skip
    session.add(group)
    await session.flush()
    plan_id = await session.scalar(select(Plan.id).order_by(Plan.code).limit(1))
    group_plan = GroupPlan(group_id=group.id, plan_id=plan_id)
    session.add(group_plan)
    await session.flush()
    await _schedule(session, group_plan.id, SEP, dt.date(2026, 12, 31), RATES_2026)
    await _schedule(session, group_plan.id, JAN, dt.date(2027, 12, 31), RATES_2027)
    members = {}
    for n, (name, tier) in enumerate((("A", "EMPLOYEE"), ("B", "FAMILY"), ("C", "EMPLOYEE"))):
        members[name] = await _subscriber(session, group.id, group_plan.id, n, name, tier)
    return group, group_plan.id, members


async def _schedule(
    session: AsyncSession,
    group_plan_id: int,
    start: dt.date,
    end: dt.date,
    rates: dict[CoverageTier, int],
) -> None:
    schedule = RateSchedule(group_plan_id=group_plan_id, effective_from=start, effective_to=end)
    session.add(schedule)
    await session.flush()
    session.add_all(
        TierRate(rate_schedule_id=schedule.id, tier=tier, monthly_premium_cents=cents)
        for tier, cents in rates.items()
    )


async def _subscriber(
    session: AsyncSession, group_id: int, group_plan_id: int, n: int, name: str, tier: str
) -> Member:
    member = Member(group_id=group_id, member_id=f"900000{n:03d}00",
                    relationship=Relationship.SUBSCRIBER, first_name=name,
                    last_name="Billtest", date_of_birth=dt.date(1980, 1, 1), sex=Sex.FEMALE,
                    status=MemberStatus.ACTIVE)  # fmt: skip
    session.add(member)
    await session.flush()
    session.add(Coverage(member_id=member.id, group_plan_id=group_plan_id,
                         tier=CoverageTier(tier), effective_date=SEP))  # fmt: skip
    await session.flush()
    return member


async def bill(session: AsyncSession, group: Group, month: dt.date) -> billing_run.GroupResult:
    return await billing_run.bill_group(session, group.id, month)


async def issue(session: AsyncSession, invoice_id: int | None) -> None:
    """Past DRAFT, as the issue step will do (the run only reads the status)."""
    await session.execute(
        update(Invoice)
        .where(Invoice.id == invoice_id)
        .values(status=InvoiceStatus.ISSUED, issued_at=utc_now())
    )


async def lines(session: AsyncSession, invoice_id: int | None) -> list[tuple[str, str, str, int]]:
    """(subscriber, kind, service month, cents) in a stable order."""
    rows = await session.execute(
        select(Member.first_name, InvoiceLine.kind, InvoiceLine.service_month,
               InvoiceLine.amount_cents)
        .join(Member, Member.id == InvoiceLine.member_id)
        .where(InvoiceLine.invoice_id == invoice_id)
        .order_by(InvoiceLine.kind, Member.first_name, InvoiceLine.service_month)
    )  # fmt: skip
    return [(name, kind.value, f"{month:%b}", cents) for name, kind, month, cents in rows]


async def test_the_hand_computed_six_months(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan_id, members = await billing_group(session)
        # September and October: three premium lines each, then issued
        for month in (SEP, OCT):
            result = await bill(session, group, month)
            assert (result.outcome, result.total_cents) == ("CREATED", 20000)
            await issue(session, result.invoice_id)
        assert await lines(session, result.invoice_id) == [
            ("A", "PREMIUM", "Oct", 4000), ("B", "PREMIUM", "Oct", 12000),
            ("C", "PREMIUM", "Oct", 4000),
        ]  # fmt: skip
        # after October is issued: A's spouse from 1 October, C ended on 30 September
        a_span = await session.scalar(select(Coverage).where(Coverage.member_id == members["A"].id))
        assert a_span is not None
        a_span.termination_date = dt.date(2026, 9, 30)
        session.add(Coverage(member_id=members["A"].id, group_plan_id=plan_id,
                             tier=CoverageTier.EMPLOYEE_SPOUSE, effective_date=OCT))  # fmt: skip
        await session.execute(
            update(Coverage)
            .where(Coverage.member_id == members["C"].id)
            .values(termination_date=dt.date(2026, 9, 30))
        )
        november = await bill(session, group, NOV)
        assert (november.outcome, november.total_cents) == ("CREATED", 20000)
        assert await lines(session, november.invoice_id) == [
            ("A", "PREMIUM", "Nov", 8000), ("B", "PREMIUM", "Nov", 12000),
            ("A", "RETRO", "Oct", 4000), ("C", "RETRO", "Oct", -4000),
        ]  # fmt: skip
        # running November again changes nothing
        again = await bill(session, group, NOV)
        assert (again.outcome, again.invoice_id) == ("UNCHANGED", november.invoice_id)
        # B ends on 31 October while November is still a draft: the draft is rebuilt
        await session.execute(
            update(Coverage)
            .where(Coverage.member_id == members["B"].id)
            .values(termination_date=dt.date(2026, 10, 31))
        )
        rebuilt = await bill(session, group, NOV)
        assert (rebuilt.outcome, rebuilt.invoice_id, rebuilt.total_cents) == (
            "REBUILT", november.invoice_id, 8000,
        )  # fmt: skip
        assert await lines(session, november.invoice_id) == [
            ("A", "PREMIUM", "Nov", 8000), ("A", "RETRO", "Oct", 4000),
            ("C", "RETRO", "Oct", -4000),
        ]  # fmt: skip
        await issue(session, november.invoice_id)
        # once issued, November is left alone, and December carries no retro again
        assert (await bill(session, group, NOV)).outcome == "ISSUED"
        december = await bill(session, group, DEC)
        assert await lines(session, december.invoice_id) == [("A", "PREMIUM", "Dec", 8000)]
        await issue(session, december.invoice_id)
        january = await bill(session, group, JAN)
        assert await lines(session, january.invoice_id) == [("A", "PREMIUM", "Jan", 8800)]
        explanation = await session.scalar(
            select(InvoiceLine.explanation).where(InvoiceLine.invoice_id == january.invoice_id)
        )
        assert explanation is not None
        assert "EMPLOYEE_SPOUSE" in explanation
        assert "$88.00" in explanation


async def test_a_retro_line_explains_what_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given September issued, then A's spouse added from the start (1 September)
        group, _, members = await billing_group(session)
        await issue(session, (await bill(session, group, SEP)).invoice_id)
        await session.execute(
            update(Coverage)
            .where(Coverage.member_id == members["A"].id)
            .values(tier=CoverageTier.EMPLOYEE_SPOUSE)
        )
        # when October is billed
        october = await bill(session, group, OCT)
        retro = await session.scalar(
            select(InvoiceLine).where(
                InvoiceLine.invoice_id == october.invoice_id, InvoiceLine.kind == "RETRO"
            )
        )
        plan = await session.scalar(select(Plan.code).order_by(Plan.code).limit(1))
    # then its retro line says which month, what is owed now and what was billed
    assert retro is not None
    assert (retro.service_month, retro.amount_cents, retro.rate_cents) == (SEP, 4000, 8000)
    assert retro.explanation == (
        f"Retro for September 2026: today's eligibility says {plan} at EMPLOYEE_SPOUSE, "
        "$80.00; $40.00 was billed for it."
    )


async def test_the_run_bills_list_bill_groups_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given the seeded groups (group 3 self-bills)
    actor = Actor(None, "test")
    first = await billing_run.run_month(sessions, DEC, actor=actor)
    # then every LIST_BILL group with subscribers got a draft, and the self-billed none
    async with sessions() as session:
        self_billed = await session.scalar(
            select(Group.id).where(Group.billing_mode == BillingMode.SELF_BILL).limit(1)
        )
    billed_ids = {result.group_id for result in first.results}
    assert self_billed not in billed_ids
    assert first.count("CREATED") >= 1
    # and a second run for the month creates nothing
    second = await billing_run.run_month(sessions, DEC, actor=actor)
    assert second.count("CREATED") == second.count("REBUILT") == 0
    assert second.count("UNCHANGED") == first.count("CREATED")


def test_a_month_is_billed_from_the_15th_of_the_month_before() -> None:
    assert billing_run.check_month(dt.date(2027, 1, 20), dt.date(2026, 12, 15)) == JAN
    with pytest.raises(RuleViolation) as refused:
        billing_run.check_month(JAN, dt.date(2026, 12, 14))
    assert refused.value.problems[0].code == "TOO_EARLY"
    assert "2026-12-15" in refused.value.problems[0].message


async def test_a_retro_line_names_the_eligibility_change_it_comes_from(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given September and October issued, then C terminated on 30 September through
        # the eligibility engine (as the portal or a file would)
        group, _, members = await billing_group(session)
        for month in (SEP, OCT):
            await issue(session, (await bill(session, group, month)).invoice_id)
        today = dt.date(2026, 11, 15)
        ctx = ItemContext(session, group, today, utc_now(), Limits())
        change = c.Terminate(dt.date(2026, 9, 30), c.ChangeReason.END_OF_EMPLOYMENT,
                             members["C"].member_id)  # fmt: skip
        done = await submit(ctx, key="end-c", changes=[change], submitter=Submitter(None, None))
        assert done.items[0].status is ChangeStatus.APPLIED
        # when November is billed, then C's October credit names that change
        november = await bill(session, group, NOV)
        retro = await session.scalar(
            select(InvoiceLine).where(
                InvoiceLine.invoice_id == november.invoice_id, InvoiceLine.kind == "RETRO"
            )
        )
    assert retro is not None
    assert (retro.amount_cents, retro.cause_change_item_id) == (-4000, done.items[0].id)
    assert retro.explanation.endswith(
        f"after eligibility change {done.items[0].id} (terminate coverage, effective 2026-09-30)."
    )
