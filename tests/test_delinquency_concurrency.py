"""The daily run racing a payment, and two workers racing on one group, on PostgreSQL
with real committed transactions (issue 8: "a crash or a concurrent request never
corrupts or duplicates money or coverage").

Both sides take the group's lock, so they happen one after the other in some order;
whatever the order the outcome is one of the serial outcomes, each stage is recorded
once, and no letter is drafted twice. The rows bypass the test transaction, so the group
is removed in a ``finally``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Executable, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.delinquency.run import assess_group
from db import models as m
from tests.delinquency_support import CONTEXT, PREMIUM, day, delinquent_group, pay, snapshot
from tests.test_ledger_concurrency import APPEND_ONLY_TRIGGERS

pytestmark = pytest.mark.postgres_only


@pytest.fixture
async def group(committing: async_sessionmaker[AsyncSession]) -> AsyncIterator[int]:
    group_id = await delinquent_group(committing)
    try:
        yield group_id
    finally:
        await _remove(committing, group_id)


async def _assess(sessions: async_sessionmaker[AsyncSession], group_id: int, n: int) -> None:
    async with sessions.begin() as session:
        await assess_group(session, group_id, day(n), CONTEXT)


async def _stage_events(sessions: async_sessionmaker[AsyncSession], group_id: int) -> int:
    async with sessions() as session:
        stmt = select(func.count()).where(m.DelinquencyTransition.group_id == group_id)
        return int(await session.scalar(stmt) or 0)


async def test_two_workers_on_one_group_record_each_stage_once(
    committing: async_sessionmaker[AsyncSession], group: int
) -> None:
    await asyncio.gather(_assess(committing, group, 31), _assess(committing, group, 31))
    state = await snapshot(committing, group)
    assert state.status is m.GroupStatus.SUSPENDED
    assert state.letters == ["SUSPENSION"]
    assert await _stage_events(committing, group) == 3  # DELINQUENT, SECOND_NOTICE, SUSPENDED


async def test_a_payment_racing_the_run_leaves_a_serial_outcome(
    committing: async_sessionmaker[AsyncSession], group: int
) -> None:
    await _assess(committing, group, 30)  # delinquent: the second notice (furthest stage)
    # July is billed on 15 June in real life; here June alone is owed (16000)
    await asyncio.gather(
        _assess(committing, group, 31), pay(committing, group, PREMIUM, day(31), "race")
    )
    state = await snapshot(committing, group)
    assert state.status is m.GroupStatus.ACTIVE
    assert [e[1] for e in state.episodes] == ["CURED"]
    run_first = ["SECOND_NOTICE", "SUSPENSION", "REINSTATEMENT"]
    assert state.letters in (["SECOND_NOTICE"], run_first)


async def _remove(sessions: async_sessionmaker[AsyncSession], group_id: int) -> None:
    """Every row the group's test made, children first."""
    async with sessions() as session:
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        for statement in _deletes(group_id):
            await session.execute(statement)
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        await session.commit()


def _deletes(group_id: int) -> list[Executable]:
    members = select(m.Member.id).where(m.Member.group_id == group_id)
    plans = select(m.GroupPlan.id).where(m.GroupPlan.group_id == group_id)
    schedules = select(m.RateSchedule.id).where(m.RateSchedule.group_plan_id.in_(plans))
    invoices = select(m.Invoice.id).where(m.Invoice.group_id == group_id)
    payments = select(m.Payment.id).where(m.Payment.group_id == group_id)
    episodes = select(m.DelinquencyEpisode.id).where(m.DelinquencyEpisode.group_id == group_id)
    return [
        delete(m.DelinquencyLetter).where(m.DelinquencyLetter.episode_id.in_(episodes)),
        delete(m.DelinquencyTransition).where(m.DelinquencyTransition.group_id == group_id),
        delete(m.DelinquencyEpisode).where(m.DelinquencyEpisode.group_id == group_id),
        delete(m.PaymentAllocation).where(m.PaymentAllocation.payment_id.in_(payments)),
        delete(m.LedgerEntry).where(m.LedgerEntry.group_id == group_id),
        delete(m.Payment).where(m.Payment.group_id == group_id),
        delete(m.InvoiceLine).where(m.InvoiceLine.invoice_id.in_(invoices)),
        delete(m.Invoice).where(m.Invoice.group_id == group_id),
        delete(m.CoverageEnding).where(m.CoverageEnding.group_id == group_id),
        delete(m.Coverage).where(m.Coverage.member_id.in_(members)),
        delete(m.Member).where(m.Member.group_id == group_id),
        delete(m.TierRate).where(m.TierRate.rate_schedule_id.in_(schedules)),
        delete(m.RateSchedule).where(m.RateSchedule.group_plan_id.in_(plans)),
        delete(m.GroupPlan).where(m.GroupPlan.group_id == group_id),
        delete(m.Group).where(m.Group.id == group_id),
    ]
