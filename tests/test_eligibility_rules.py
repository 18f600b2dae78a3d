"""The carrier's eligibility rules, boundary by boundary, from one table (SPEC §2 Members
and coverage). Each case builds a fresh family through the services, submits one change
on a given day, and checks status, code and that a refused change altered nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.eligibility import changes as c
from db.models import ChangeStatus, CoverageTier, Member, Relationship
from tests.eligibility_support import (
    applied,
    family,
    group_and_plans,
    run,
    snapshot,
    spans_of,
    unique_person,
)

D = dt.date
R = c.ChangeReason
Fam = dict[str, Member]


@dataclass(frozen=True)
class Case:
    change: Callable[[Fam, str], c.Change]
    today: dt.date
    status: ChangeStatus
    code: str | None = None
    spouse: bool = False


def sub(day: D, reason: R = R.NEW_HIRE) -> Callable[[Fam, str], c.Change]:
    return lambda f, plan: c.AddSubscriber(day, reason, unique_person(), plan)


def dep(
    day: D, relationship: Relationship, dob: D, reason: R, event: D | None = None
) -> Callable[[Fam, str], c.Change]:
    return lambda f, plan: c.AddDependent(
        day, reason, unique_person(dob), relationship, f["subscriber"].member_id, None, event
    )


def term(who: str, day: D, reason: R = R.END_OF_EMPLOYMENT) -> Callable[[Fam, str], c.Change]:
    return lambda f, plan: c.Terminate(day, reason, f[who].member_id)


CHILD, SPOUSE, PARTNER = Relationship.CHILD, Relationship.SPOUSE, Relationship.DOMESTIC_PARTNER
APPLIED, REVIEW, REJECTED = ChangeStatus.APPLIED, ChangeStatus.PENDING_REVIEW, ChangeStatus.REJECTED

CASES = {
    "add retro day 30": Case(sub(D(2026, 11, 1)), D(2026, 12, 1), APPLIED),
    "add retro day 31": Case(sub(D(2026, 11, 1)), D(2026, 12, 2), REVIEW, "RETRO_LIMIT_EXCEEDED"),
    "add on the 1st": Case(sub(D(2026, 12, 1)), D(2026, 11, 15), APPLIED),
    "add on the 2nd": Case(
        sub(D(2026, 12, 2)), D(2026, 11, 15), REJECTED, "EFFECTIVE_DATE_NOT_FIRST"
    ),
    "future day 90": Case(sub(D(2027, 2, 1)), D(2026, 11, 3), APPLIED),
    "future day 91": Case(sub(D(2027, 2, 1)), D(2026, 11, 2), REJECTED, "TOO_FAR_IN_FUTURE"),
    "before the group": Case(
        sub(D(2022, 5, 1)), D(2022, 5, 10), REJECTED, "BEFORE_GROUP_EFFECTIVE_DATE"
    ),
    "terminate retro day 60": Case(term("subscriber", D(2026, 9, 30)), D(2026, 11, 29), APPLIED),
    "terminate retro day 61": Case(
        term("subscriber", D(2026, 9, 30)), D(2026, 11, 30), REVIEW, "RETRO_LIMIT_EXCEEDED"
    ),
    "terminate mid-month": Case(
        term("subscriber", D(2026, 11, 20)),
        D(2026, 11, 15),
        REJECTED,
        "TERMINATION_NOT_END_OF_MONTH",
    ),
    "death mid-month": Case(term("subscriber", D(2026, 11, 12), R.DEATH), D(2026, 11, 15), APPLIED),
    "QLE day 30": Case(
        dep(D(2026, 11, 1), SPOUSE, D(1990, 1, 1), R.MARRIAGE, D(2026, 10, 16)),
        D(2026, 11, 15),
        APPLIED,
    ),
    "QLE day 31": Case(
        dep(D(2026, 11, 1), SPOUSE, D(1990, 1, 1), R.MARRIAGE, D(2026, 10, 15)),
        D(2026, 11, 15),
        REJECTED,
        "QLE_WINDOW_EXPIRED",
    ),
    "dependent without an event": Case(
        dep(D(2026, 11, 1), SPOUSE, D(1990, 1, 1), R.OTHER),
        D(2026, 11, 15),
        REJECTED,
        "NOT_AN_ENROLLMENT_EVENT",
    ),
    "birth on the event date": Case(
        dep(D(2026, 11, 9), CHILD, D(2026, 11, 9), R.BIRTH, D(2026, 11, 9)),
        D(2026, 11, 15),
        APPLIED,
    ),
    "child turning 26 this month": Case(
        dep(D(2026, 11, 1), CHILD, D(2000, 11, 20), R.OPEN_ENROLLMENT), D(2026, 11, 15), APPLIED
    ),
    "child 26 a month ago": Case(
        dep(D(2026, 12, 1), CHILD, D(2000, 11, 20), R.OPEN_ENROLLMENT),
        D(2026, 11, 15),
        REJECTED,
        "CHILD_OVER_AGE_LIMIT",
    ),
    "second spouse": Case(
        dep(D(2026, 12, 1), PARTNER, D(1990, 1, 1), R.OPEN_ENROLLMENT),
        D(2026, 11, 15),
        REJECTED,
        "SECOND_PARTNER",
        spouse=True,
    ),
    "terminate a subscriber with dependents": Case(
        term("subscriber", D(2026, 11, 30)), D(2026, 11, 15), APPLIED, spouse=True
    ),
    "terminate a dependent": Case(
        term("spouse", D(2026, 11, 30), R.DIVORCE),
        D(2026, 11, 15),
        REJECTED,
        "EVENT_DATE_REQUIRED",
        spouse=True,
    ),
    "unknown member": Case(
        lambda f, plan: c.Terminate(D(2026, 11, 30), R.OTHER, "99999999999"),
        D(2026, 11, 15),
        REJECTED,
        "MEMBER_NOT_FOUND",
    ),
    "duplicate name and birth date": Case(
        lambda f, plan: c.AddSubscriber(
            D(2026, 12, 1),
            R.NEW_HIRE,
            c.Person(
                f["subscriber"].first_name,
                f["subscriber"].last_name,
                f["subscriber"].date_of_birth,
                f["subscriber"].sex,
            ),
            plan,
        ),
        D(2026, 11, 15),
        REVIEW,
        "DUPLICATE_SUSPECTED",
    ),
}


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    async with sessions() as session:
        return session


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_rule_boundaries(session: AsyncSession, case: Case) -> None:
    # given
    group, plans = await group_and_plans(session)
    members = await family(session, group, plans[0], spouse=case.spouse)
    before = await snapshot(session, group)
    # when
    outcome = await run(session, group, case.change(members, plans[0]), case.today)
    # then
    assert outcome.status is case.status, outcome.problems
    assert [p.code for p in outcome.problems] == ([case.code] if case.code else [])
    after = await snapshot(session, group)
    if case.status is not APPLIED:
        assert after == before
    else:
        assert after != before


async def test_child_turning_26_is_covered_to_the_end_of_that_month(session: AsyncSession) -> None:
    group, plans = await group_and_plans(session)
    members = await family(session, group, plans[0], spouse=False, child=False)
    change = dep(D(2026, 11, 1), CHILD, D(2000, 11, 20), R.OPEN_ENROLLMENT)(members, plans[0])
    child = await applied(session, group, change, D(2026, 11, 15))
    spans = await spans_of(session, child)
    assert [(s.effective_date, s.termination_date) for s in spans] == [
        (D(2026, 11, 1), D(2026, 11, 30))
    ]
    tiers = [(s.tier, s.termination_date) for s in await spans_of(session, members["subscriber"])]
    assert tiers[-2:] == [
        (CoverageTier.EMPLOYEE_CHILDREN, D(2026, 11, 30)),
        (CoverageTier.EMPLOYEE, None),
    ]


async def test_terminating_a_subscriber_ends_dependents_on_the_same_day_or_earlier(
    session: AsyncSession,
) -> None:
    # given: a spouse who already leaves at the end of October
    group, plans = await group_and_plans(session)
    members = await family(session, group, plans[0], spouse=True)
    divorce = c.Terminate(
        D(2026, 10, 31),
        R.DIVORCE,
        members["spouse"].member_id,
        None,
    )
    divorce = c.Terminate(D(2026, 10, 31), R.DIVORCE, members["spouse"].member_id, D(2026, 10, 20))
    await applied(session, group, divorce, D(2026, 10, 25))
    # when
    end = c.Terminate(D(2026, 11, 30), R.END_OF_EMPLOYMENT, members["subscriber"].member_id)
    await applied(session, group, end, D(2026, 11, 15))
    # then
    ends = {
        name: (await spans_of(session, member))[-1].termination_date
        for name, member in members.items()
    }
    assert ends == {
        "subscriber": D(2026, 11, 30),
        "spouse": D(2026, 10, 31),
        "child": D(2026, 11, 30),
    }
    sub_tiers = [s.tier for s in await spans_of(session, members["subscriber"])]
    assert sub_tiers == [CoverageTier.FAMILY, CoverageTier.EMPLOYEE_CHILDREN]


async def test_a_dependent_cannot_outlast_a_subscriber_who_ended_earlier(
    session: AsyncSession,
) -> None:
    group, plans = await group_and_plans(session)
    members = await family(session, group, plans[0], spouse=False)
    end = c.Terminate(D(2026, 10, 31), R.END_OF_EMPLOYMENT, members["subscriber"].member_id)
    await applied(session, group, end, D(2026, 10, 20))
    before = await snapshot(session, group)
    later = c.Terminate(D(2026, 11, 30), R.OTHER, members["child"].member_id)
    outcome = await run(session, group, later, D(2026, 11, 15))
    assert [p.code for p in outcome.problems] == ["NOT_COVERED"]
    add = dep(D(2026, 11, 1), CHILD, D(2020, 1, 1), R.OPEN_ENROLLMENT)(members, plans[0])
    outcome = await run(session, group, add, D(2026, 11, 15))
    assert [p.code for p in outcome.problems] == ["SUBSCRIBER_NOT_COVERED"]
    assert await snapshot(session, group) == before
