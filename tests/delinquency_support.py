"""A group built for the delinquency tests, and a day-by-day simulation of it.

G900101 from 1 May 2026 with two subscribers: EMPLOYEE 4000 and FAMILY 12000 cents, so
every invoice is 16000. May is issued and paid; June (due 1 June) is not: day 0 of the
timeline is 1 June, day 1 is 2 June, day 61 is 1 August. As the days go by, each month's
invoice is built and issued on the 15th of the month before, as the billing run does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import billing_run, invoices
from api.services.audit import Actor
from api.services.bank_data import cipher_for
from api.services.dates import add_months, today, utc_now
from api.services.delinquency import jobs
from api.services.delinquency.run import RunContext
from api.services.payments import record_payment, reverse_payment
from api.settings import DEV_BANK_DATA_KEY
from db.models import (
    BillingMode,
    Coverage,
    CoverageTier,
    DelinquencyEpisode,
    DelinquencyLetter,
    DelinquencyRun,
    Group,
    GroupPlan,
    GroupStatus,
    Member,
    MemberStatus,
    PaymentMethod,
    Plan,
    Relationship,
    Sex,
)
from tests.ledger_support import trail
from tests.test_billing_run import RATES_2026, _schedule

MAY, JUN = dt.date(2026, 5, 1), dt.date(2026, 6, 1)
PREMIUM = 16000
CARRIER = "Carrier Health Plan"
CONTEXT = RunContext(Actor(None, "delinquency-test"), CARRIER, cipher_for(DEV_BANK_DATA_KEY))


def day(n: int) -> dt.date:
    """Day ``n`` past due of the June invoice."""
    return JUN + dt.timedelta(days=n)


async def delinquent_group(sessions: async_sessionmaker[AsyncSession]) -> int:
    """The group, with May issued and paid and June issued; its id."""
    async with sessions.begin() as session:
        group = Group(group_number="G900101", name="Late Payer Dental Co",
                      address_line1="9 Elm St", city="Tulsa", state="OK", postal_code="74103",
                      status=GroupStatus.ACTIVE, billing_mode=BillingMode.LIST_BILL,
                      effective_date=MAY)  # fmt: skip
        session.add(group)
        await session.flush()
        plan_id = await session.scalar(select(Plan.id).order_by(Plan.code).limit(1))
        group_plan = GroupPlan(group_id=group.id, plan_id=plan_id)
        session.add(group_plan)
        await session.flush()
        await _schedule(session, group_plan.id, MAY, dt.date(2026, 12, 31), RATES_2026)
        for n, tier in enumerate((CoverageTier.EMPLOYEE, CoverageTier.FAMILY)):
            await _subscriber(session, group.id, group_plan.id, n, tier)
        group_id = group.id
    await bill_and_issue(sessions, group_id, MAY)
    await pay(sessions, group_id, PREMIUM, dt.date(2026, 4, 28), "may")
    await bill_and_issue(sessions, group_id, JUN)
    return group_id


async def _subscriber(
    session: AsyncSession, group_id: int, group_plan_id: int, n: int, tier: CoverageTier
) -> None:
    member = Member(group_id=group_id, member_id=f"901000{n:03d}00",
                    relationship=Relationship.SUBSCRIBER, first_name=f"Sub{n}",
                    last_name="Latepay", date_of_birth=dt.date(1980, 1, 1), sex=Sex.FEMALE,
                    status=MemberStatus.ACTIVE)  # fmt: skip
    session.add(member)
    await session.flush()
    session.add(Coverage(member_id=member.id, group_plan_id=group_plan_id, tier=tier,
                         effective_date=MAY))  # fmt: skip


async def bill_and_issue(
    sessions: async_sessionmaker[AsyncSession], group_id: int, month: dt.date
) -> None:
    async with sessions.begin() as session:
        built = await billing_run.bill_group(session, group_id, month)
        if built.outcome != "CREATED":
            return
        invoice = await invoices.locked_invoice(session, built.invoice_id or 0)
        await invoices.issue(
            session, invoice, user_id=None, audit=trail(), now=utc_now(), carrier=CARRIER,
            cipher=cipher_for(DEV_BANK_DATA_KEY),
        )  # fmt: skip


async def pay(
    sessions: async_sessionmaker[AsyncSession],
    group_id: int,
    cents: int,
    received: dt.date,
    key: str,
) -> int:
    async with sessions.begin() as session:
        recorded = await record_payment(
            session, group_id=group_id, amount_cents=cents, method=PaymentMethod.CHECK,
            received_date=received, reference=key, idempotency_key=key, user_id=None,
            audit=trail(),
        )  # fmt: skip
        return recorded.payment.id


async def return_nsf(
    sessions: async_sessionmaker[AsyncSession], payment_id: int, on: dt.date
) -> None:
    async with sessions.begin() as session:
        await reverse_payment(session, payment_id=payment_id, reason="NSF", user_id=None,
                              audit=trail(), returned_on=on)  # fmt: skip


async def run_day(sessions: async_sessionmaker[AsyncSession], as_of: dt.date) -> DelinquencyRun:
    """The delinquency run of ``as_of`` through the job, as the worker runs it."""
    async with sessions.begin() as session:
        run = await jobs.queue_run(session, as_of, user_id=None, today=today())
        await session.flush()
        run_id = run.id
    await jobs.run_job(sessions, run_id, lease=dt.timedelta(minutes=5), context=CONTEXT)
    async with sessions() as session:
        return await session.get_one(DelinquencyRun, run_id)


@dataclass(frozen=True, slots=True)
class Snapshot:
    status: GroupStatus
    letters: list[str]
    episodes: list[tuple[int, str, str, dt.date]]
    termination_date: dt.date | None


async def snapshot(sessions: async_sessionmaker[AsyncSession], group_id: int) -> Snapshot:
    async with sessions() as session:
        group = await session.get_one(Group, group_id)
        letters = await session.scalars(
            select(DelinquencyLetter.kind).where(DelinquencyLetter.group_id == group_id)
            .order_by(DelinquencyLetter.id)
        )  # fmt: skip
        episodes = await session.execute(
            select(DelinquencyEpisode.id, DelinquencyEpisode.status, DelinquencyEpisode.stage,
                   DelinquencyEpisode.past_due_since)
            .where(DelinquencyEpisode.group_id == group_id).order_by(DelinquencyEpisode.id)
        )  # fmt: skip
        return Snapshot(
            group.status,
            [kind.value for kind in letters],
            [(pk, status.value, stage.value, since) for pk, status, stage, since in episodes],
            group.termination_date,
        )


async def simulate(
    sessions: async_sessionmaker[AsyncSession], group_id: int, first: int, last: int
) -> dict[int, Snapshot]:
    """Run days ``first``..``last``; each 15th the next month is billed and issued first."""
    seen = {}
    for n in range(first, last + 1):
        if day(n).day == 15:
            await bill_and_issue(sessions, group_id, add_months(day(n), 1))
        await run_day(sessions, day(n))
        seen[n] = await snapshot(sessions, group_id)
    return seen
