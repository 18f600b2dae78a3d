"""Helpers shared by the eligibility tests: a session, a group, a family made by the
services themselves, and snapshots of a group's coverage."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.eligibility import changes as c
from api.services.eligibility.context import ItemContext, Outcome
from api.services.eligibility.engine import run_item
from api.services.eligibility.rules import Limits
from db.models import ChangeStatus, Coverage, Group, GroupPlan, Member, Plan, Relationship, Sex

ENROLLED = dt.date(2026, 7, 1)
_names = itertools.count(1)


def unique_person(dob: dt.date = dt.date(1985, 5, 17)) -> c.Person:
    """A person no seeded member matches (names are unique per test run)."""
    n = next(_names)
    return c.Person(f"Testfirst{n}", f"Testlast{n}", dob, Sex.FEMALE)


async def group_and_plans(
    session: AsyncSession, number: str = "G100001"
) -> tuple[Group, list[str]]:
    group = await session.scalar(select(Group).where(Group.group_number == number))
    assert group is not None
    codes = await session.scalars(
        select(Plan.code)
        .join(GroupPlan, GroupPlan.plan_id == Plan.id)
        .where(GroupPlan.group_id == group.id)
        .order_by(Plan.code)
    )
    return group, list(codes)


async def run(session: AsyncSession, group: Group, change: c.Change, today: dt.date) -> Outcome:
    now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    return await run_item(ItemContext(session, group, today, now, Limits()), change)


async def applied(session: AsyncSession, group: Group, change: c.Change, today: dt.date) -> Member:
    outcome = await run(session, group, change, today)
    assert outcome.status is ChangeStatus.APPLIED, outcome.problems
    assert outcome.member_pk is not None
    member = await session.get(Member, outcome.member_pk)
    assert member is not None
    return member


async def family(
    session: AsyncSession, group: Group, plan: str, *, spouse: bool, child: bool = True
) -> dict[str, Member]:
    """A subscriber enrolled on ENROLLED with, at enrollment, a spouse and/or a child."""
    sub = await applied(
        session,
        group,
        c.AddSubscriber(ENROLLED, c.ChangeReason.NEW_HIRE, unique_person(), plan),
        ENROLLED,
    )
    members = {"subscriber": sub}
    kinds = [("spouse", Relationship.SPOUSE, dt.date(1986, 1, 2))] if spouse else []
    kinds += [("child", Relationship.CHILD, dt.date(2012, 3, 4))] if child else []
    for name, relationship, dob in kinds:
        change = c.AddDependent(
            ENROLLED, c.ChangeReason.NEW_HIRE, unique_person(dob), relationship, sub.member_id
        )
        members[name] = await applied(session, group, change, ENROLLED)
    return members


Snapshot = list[tuple[str, object, object, dt.date, dt.date | None]]


async def snapshot(session: AsyncSession, group: Group) -> tuple[int, Snapshot]:
    """(member count, every coverage row) of the group, for "nothing else changed"."""
    count = await session.scalar(select(func.count()).where(Member.group_id == group.id))
    rows = await session.execute(
        select(
            Member.member_id,
            Coverage.group_plan_id,
            Coverage.tier,
            Coverage.effective_date,
            Coverage.termination_date,
        )
        .join(Member, Member.id == Coverage.member_id)
        .where(Member.group_id == group.id)
        .order_by(Member.member_id, Coverage.effective_date)
    )
    return int(count or 0), [tuple(row) for row in rows]  # type: ignore[misc]


async def spans_of(session: AsyncSession, member: Member) -> list[Coverage]:
    stmt = select(Coverage).where(Coverage.member_id == member.id).order_by(Coverage.effective_date)
    return list(await session.scalars(stmt.execution_options(populate_existing=True)))
