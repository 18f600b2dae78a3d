"""Invariants of coverage under any sequence of valid changes (hypothesis): spans of a
member never overlap, every span's tier is ``tier_for`` of the dependents covered on it,
and replaying a submission with the same idempotency key changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.coverage import tier_for
from api.services.dates import add_months, last_of_month
from api.services.eligibility import changes as c
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import BatchResult, Submitter, submit
from api.services.eligibility.rules import Limits
from api.services.rules import RuleViolation
from db.models import (
    ChangeBatch,
    ChangeItem,
    ChangeStatus,
    Group,
    IdCardRequest,
    Member,
    Relationship,
)
from tests.eligibility_support import (
    ENROLLED,
    Snapshot,
    group_and_plans,
    run,
    snapshot,
    spans_of,
    unique_person,
)
from tests.eligibility_support import family as make_family

R = c.ChangeReason
OPS = st.sampled_from(["spouse", "child", "end_dependent", "end_subscriber", "plan", "back"])


def _change(op: str, members: list[Member], day: dt.date, plans: list[str], n: int) -> c.Change:
    sub = members[0]
    if op in ("spouse", "child"):
        rel = Relationship.SPOUSE if op == "spouse" else Relationship.CHILD
        dob = dt.date(1980, 1, 1) if op == "spouse" else dt.date(2015, 1, 1)
        return c.AddDependent(day, R.OPEN_ENROLLMENT, unique_person(dob), rel, sub.member_id)
    if op == "end_dependent" and len(members) > 1:
        target = members[1 + n % (len(members) - 1)]
        return c.Terminate(last_of_month(day), R.OTHER, target.member_id)
    if op == "end_subscriber":
        return c.Terminate(last_of_month(day), R.END_OF_EMPLOYMENT, sub.member_id)
    if op == "plan":
        return c.ChangePlan(day, R.OPEN_ENROLLMENT, sub.member_id, plans[n % len(plans)])
    return c.Reinstate(day, R.CORRECTION, sub.member_id)


async def _check_family(session: AsyncSession, members: list[Member]) -> None:
    spans = {m.id: await spans_of(session, m) for m in members}
    for rows in spans.values():
        for before, after in itertools.pairwise(rows):
            assert before.termination_date is not None
            assert before.termination_date < after.effective_date
    for row in spans[members[0].id]:
        day = row.effective_date
        covered = [
            m.relationship
            for m in members[1:]
            if any(
                s.effective_date <= day and (s.termination_date or day) >= day for s in spans[m.id]
            )
        ]
        assert row.tier == tier_for(covered_dependents=covered)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(st.tuples(OPS, st.integers(0, 5)), min_size=1, max_size=6))
async def test_any_sequence_keeps_spans_apart_and_tiers_derived(
    sessions: async_sessionmaker[AsyncSession], ops: list[tuple[str, int]]
) -> None:
    async with sessions() as session, session.begin_nested() as example:
        group, plans = await group_and_plans(session)
        fam = await make_family(session, group, plans[0], spouse=False, child=False)
        members = [fam["subscriber"]]
        for month, (op, n) in enumerate(ops, start=1):
            day = add_months(ENROLLED, month)
            outcome = await run(session, group, _change(op, members, day, plans, n), day)
            if op in ("spouse", "child") and outcome.member_pk is not None:
                member = await session.get(Member, outcome.member_pk)
                assert member is not None
                members.append(member)
            await _check_family(session, members)
        await example.rollback()


async def test_replaying_a_key_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        group, plans = await group_and_plans(session)
        day = dt.date(2026, 12, 1)
        ctx = ItemContext(session, group, day, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), Limits())
        changes: list[c.Change] = [
            c.AddSubscriber(day, R.NEW_HIRE, unique_person(), plans[0]) for _ in range(3)
        ]
        first = await submit(ctx, key="replay", changes=changes, submitter=Submitter(None, None))
        before = await snapshot(session, group)
        again = await submit(ctx, key="replay", changes=changes, submitter=Submitter(None, None))
        assert again.replayed
        assert [i.id for i in again.items] == [i.id for i in first.items]
        assert await snapshot(session, group) == before


# Replaying a submission (SPEC §4: mutations that submit work accept an idempotencyKey):
# a batch of 1..6 changes, made of the sequence above plus new subscribers and their
# children (by ``subscriber_position``), submitted twice under one key.
BATCH_OPS = st.one_of(OPS, st.sampled_from(["subscriber", "their_child"]))
BATCHES = st.lists(st.tuples(BATCH_OPS, st.integers(0, 5)), min_size=1, max_size=6)
KEYS = st.from_regex(r"[A-Za-z0-9_-]{1,100}", fullmatch=True)
MUTATIONS = st.sampled_from(["append", "drop", "reason", "date", "reverse"])
NOBODY = Submitter(None, None)


@dataclasses.dataclass(frozen=True, slots=True)
class Ledger:
    """Everything a submission can write for a group, read as plain values (not ORM
    objects, so the identity map cannot hide a change)."""

    coverage: tuple[int, Snapshot]
    batches: int
    items: list[tuple[object, ...]]
    id_cards: int


async def _ledger(session: AsyncSession, group: Group) -> Ledger:
    batches = await session.scalar(
        select(func.count()).select_from(ChangeBatch).where(ChangeBatch.group_id == group.id)
    )
    items = await session.execute(
        select(
            ChangeItem.id,
            ChangeItem.batch_id,
            ChangeItem.position,
            ChangeItem.kind,
            ChangeItem.payload,
            ChangeItem.status,
            ChangeItem.problems,
            ChangeItem.member_id,
        )
        .where(ChangeItem.group_id == group.id)
        .order_by(ChangeItem.id)
    )
    cards = await session.scalar(
        select(func.count())
        .select_from(IdCardRequest)
        .join(Member, Member.id == IdCardRequest.member_id)
        .where(Member.group_id == group.id)
    )
    return Ledger(
        await snapshot(session, group),
        int(batches or 0),
        [tuple(r) for r in items],
        int(cards or 0),
    )


def _batch(ops: list[tuple[str, int]], members: list[Member], plans: list[str]) -> list[c.Change]:
    """One change per op, the n-th effective in the n-th month after ENROLLED."""
    changes: list[c.Change] = []
    for month, (op, n) in enumerate(ops, start=1):
        day = add_months(ENROLLED, month)
        changes.append(_batch_change(op, members, day, plans, n, changes))
    return changes


def _batch_change(
    op: str, members: list[Member], day: dt.date, plans: list[str], n: int, earlier: list[c.Change]
) -> c.Change:
    if op == "subscriber":
        return c.AddSubscriber(day, R.NEW_HIRE, unique_person(), plans[n % len(plans)])
    added = [i for i, change in enumerate(earlier) if isinstance(change, c.AddSubscriber)]
    if op == "their_child" and added:
        position = added[n % len(added)]
        return c.AddDependent(
            earlier[position].effective_date,
            R.NEW_HIRE,
            unique_person(dt.date(2015, 1, 1)),
            Relationship.CHILD,
            subscriber_position=position,
        )
    return _change("child" if op == "their_child" else op, members, day, plans, n)


def _mutated(changes: list[c.Change], mutation: str, n: int) -> list[c.Change]:
    """Another input for the same key: one item more or less, one field of one item
    changed, or the items in another order (it need not be valid: the key is refused
    before any item is validated)."""
    index = n % len(changes)
    target = changes[index]
    if mutation == "append":
        return [*changes, target]
    if mutation == "drop":
        return changes[:index] + changes[index + 1 :]
    if mutation == "reason":
        reason = R.CORRECTION if target.reason is not R.CORRECTION else R.OTHER
        edited = dataclasses.replace(target, reason=reason)
    elif mutation == "date":
        edited = dataclasses.replace(target, effective_date=target.effective_date + dt.timedelta(1))
    else:
        return changes[::-1]
    return [*changes[:index], edited, *changes[index + 1 :]]


def _outcomes(result: BatchResult) -> list[tuple[int, int, ChangeStatus, int | None]]:
    return [(i.id, i.position, i.status, i.member_id) for i in result.items]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=BATCHES, key=KEYS, spouse=st.booleans(), child=st.booleans(), month=st.integers(1, 6))
async def test_replaying_any_batch_with_its_key_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    ops: list[tuple[str, int]],
    key: str,
    spouse: bool,
    child: bool,
    month: int,
) -> None:
    async with sessions() as session, session.begin_nested() as example:
        # given: submitted ``month`` months after ENROLLED, so that items before it are
        # past the retro limits (PENDING_REVIEW) and items far after it too far ahead
        group, plans = await group_and_plans(session)
        fam = await make_family(session, group, plans[0], spouse=spouse, child=child)
        today = add_months(ENROLLED, month)
        now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
        ctx = ItemContext(session, group, today, now, Limits())
        changes = _batch(ops, list(fam.values()), plans)
        first = await submit(ctx, key=key, changes=changes, submitter=NOBODY)
        outcomes = _outcomes(first)
        before = await _ledger(session, group)
        # when
        again = await submit(ctx, key=key, changes=changes, submitter=NOBODY)
        # then
        assert not first.replayed
        assert [position for _, position, _, _ in outcomes] == list(range(len(changes)))
        assert again.replayed
        assert again.batch.id == first.batch.id
        assert _outcomes(again) == outcomes
        assert await _ledger(session, group) == before
        await example.rollback()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=BATCHES, key=KEYS, mutation=MUTATIONS, n=st.integers(0, 5))
async def test_reusing_a_key_for_other_changes_is_refused_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    ops: list[tuple[str, int]],
    key: str,
    mutation: str,
    n: int,
) -> None:
    async with sessions() as session, session.begin_nested() as example:
        # given
        group, plans = await group_and_plans(session)
        fam = await make_family(session, group, plans[0], spouse=True)
        today = add_months(ENROLLED, 1)
        now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
        ctx = ItemContext(session, group, today, now, Limits())
        changes = _batch(ops, list(fam.values()), plans)
        other = _mutated(changes, mutation, n)
        assume(other and other != changes)
        await submit(ctx, key=key, changes=changes, submitter=NOBODY)
        before = await _ledger(session, group)
        # when
        with pytest.raises(RuleViolation) as refused:
            await submit(ctx, key=key, changes=other, submitter=NOBODY)
        # then
        assert [problem.code for problem in refused.value.problems] == ["IDEMPOTENCY_KEY_REUSED"]
        assert await _ledger(session, group) == before
        await example.rollback()
