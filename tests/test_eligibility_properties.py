"""Invariants of coverage under any sequence of valid changes (hypothesis): spans of a
member never overlap, every span's tier is ``tier_for`` of the dependents covered on it,
and replaying a submission with the same idempotency key changes nothing."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.coverage import tier_for
from api.services.dates import add_months, last_of_month
from api.services.eligibility import changes as c
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import Submitter, submit
from api.services.eligibility.rules import Limits
from db.models import Member, Relationship
from tests.eligibility_support import (
    ENROLLED,
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
