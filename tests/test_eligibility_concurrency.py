"""Concurrent changes to one family on PostgreSQL, with real committed transactions
(SPEC §2: two concurrent changes to one subscriber never lose an update or leave two open
spans). The test's rows bypass the rolled-back test transaction, so it removes them in a
``finally``."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.eligibility import changes as c
from api.services.eligibility.context import ItemContext, Outcome
from api.services.eligibility.engine import BatchResult, Submitter, run_item, submit
from api.services.eligibility.rules import Limits
from db.models import (
    ChangeBatch,
    ChangeItem,
    ChangeStatus,
    Coverage,
    CoverageTier,
    Group,
    IdCardRequest,
    Member,
    Relationship,
)
from tests.eligibility_support import unique_person

pytestmark = pytest.mark.postgres_only

TODAY = dt.date(2026, 11, 15)
START = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)


async def _in_own_transaction(
    sessions: async_sessionmaker[AsyncSession], change: c.Change
) -> Outcome:
    async with sessions() as session:
        group = await session.scalar(select(Group).where(Group.group_number == "G100001"))
        assert group is not None
        outcome = await run_item(ItemContext(session, group, TODAY, NOW, Limits()), change)
        await session.commit()
        return outcome


async def _submit(
    sessions: async_sessionmaker[AsyncSession], key: str, change: c.Change
) -> BatchResult:
    async with sessions() as session:
        group = await session.scalar(select(Group).where(Group.group_number == "G100001"))
        assert group is not None
        ctx = ItemContext(session, group, TODAY, NOW, Limits())
        result = await submit(ctx, key=key, changes=[change], submitter=Submitter(None, None))
        await session.commit()
        return result


async def _cleanup(sessions: async_sessionmaker[AsyncSession], prefixes: list[str]) -> None:
    async with sessions() as session:
        for prefix in prefixes:
            ids = select(Member.id).where(Member.member_id.startswith(prefix))
            await session.execute(delete(IdCardRequest).where(IdCardRequest.member_id.in_(ids)))
            await session.execute(delete(ChangeItem).where(ChangeItem.member_id.in_(ids)))
            await session.execute(delete(Coverage).where(Coverage.member_id.in_(ids)))
            await session.execute(
                delete(Member).where(
                    Member.member_id.startswith(prefix), Member.subscriber_id.isnot(None)
                )
            )
            await session.execute(delete(Member).where(Member.member_id.startswith(prefix)))
        await session.commit()


async def test_two_concurrent_dependents_of_one_subscriber_lose_nothing(
    committing: async_sessionmaker[AsyncSession],
) -> None:
    prefixes: list[str] = []
    try:
        # given: a subscriber committed on their own
        add = c.AddSubscriber(START, c.ChangeReason.NEW_HIRE, unique_person(), "DHMO-100")
        outcome = await _in_own_transaction(committing, add)
        assert outcome.status is ChangeStatus.APPLIED, outcome.problems
        async with committing() as session:
            subscriber = await session.get(Member, outcome.member_pk)
            assert subscriber is not None
        prefixes.append(subscriber.member_id[:9])
        # when: a spouse and a child are added at the same time, in two transactions
        kids = [
            c.AddDependent(
                START, c.ChangeReason.NEW_HIRE, unique_person(dob), rel, subscriber.member_id
            )
            for rel, dob in [
                (Relationship.SPOUSE, dt.date(1985, 1, 1)),
                (Relationship.CHILD, dt.date(2015, 1, 1)),
            ]
        ]
        outcomes = await asyncio.gather(*(_in_own_transaction(committing, k) for k in kids))
        # then: both applied, the tier counts both, one open span per member
        assert [o.status for o in outcomes] == [ChangeStatus.APPLIED] * 2
        async with committing() as session:
            rows = (
                await session.execute(
                    select(Member.member_id, Coverage.tier, Coverage.termination_date)
                    .join(Coverage, Coverage.member_id == Member.id)
                    .where(Member.member_id.startswith(prefixes[0]))
                    .order_by(Member.member_id, Coverage.effective_date)
                )
            ).all()
        assert {row[0][9:] for row in rows} == {"00", "01", "02"}
        first_tiers = {row[0]: row[1] for row in reversed(rows)}
        assert set(first_tiers.values()) == {CoverageTier.FAMILY}
        open_spans = [row[0] for row in rows if row[2] is None]
        assert len(open_spans) == len(set(open_spans))
    finally:
        await _cleanup(committing, prefixes)


async def test_a_racing_retry_returns_the_first_result(
    committing: async_sessionmaker[AsyncSession],
) -> None:
    key = f"race-{uuid.uuid4()}"
    change = c.AddSubscriber(START, c.ChangeReason.NEW_HIRE, unique_person(), "DHMO-100")
    try:
        first, second = await asyncio.gather(
            _submit(committing, key, change), _submit(committing, key, change)
        )
    finally:
        async with committing() as session:
            batch_ids = select(ChangeBatch.id).where(ChangeBatch.idempotency_key == key)
            member_ids = select(ChangeItem.member_id).where(ChangeItem.batch_id.in_(batch_ids))
            prefixes = [
                m[:9]
                for m in await session.scalars(
                    select(Member.member_id).where(Member.id.in_(member_ids))
                )
            ]
        await _cleanup(committing, prefixes)
        async with committing() as session:
            await session.execute(delete(ChangeItem).where(ChangeItem.batch_id.in_(batch_ids)))
            count = await session.scalar(select(func.count()).select_from(batch_ids.subquery()))
            await session.execute(delete(ChangeBatch).where(ChangeBatch.idempotency_key == key))
            await session.commit()
    assert count == 1
    assert {first.replayed, second.replayed} == {False, True}
