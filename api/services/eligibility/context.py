"""What every change action receives and returns, and the look-ups they share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.eligibility.rules import Limits, status_for
from api.services.rules import Problem
from db.models import ChangeStatus, Group, GroupPlan, Member, MemberStatus, Plan


@dataclass(frozen=True, slots=True)
class ItemContext:
    """``waived``: review codes a rep approved (SPEC §2: a rep may approve a change)."""

    session: AsyncSession
    group: Group
    today: dt.date
    now: dt.datetime
    limits: Limits
    waived: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Outcome:
    """An item's result; ``subscriber_pk`` names the family whose premium may change."""

    status: ChangeStatus
    problems: list[Problem] = field(default_factory=list)
    member_pk: int | None = None
    subscriber_pk: int | None = None


def refused(ctx: ItemContext, problems: list[Problem], member_pk: int | None = None) -> Outcome:
    """The outcome of problems left after the waived ones (empty: nothing refused)."""
    kept = [problem for problem in problems if problem.code not in ctx.waived]
    return Outcome(status_for(kept), kept, member_pk)


def applied(member: Member) -> Outcome:
    subscriber_pk = member.subscriber_id or member.id
    return Outcome(ChangeStatus.APPLIED, [], member.id, subscriber_pk)


async def find_member(ctx: ItemContext, member_id: str) -> Member | None:
    """The group's member with carrier ID ``member_id`` (merged duplicates excluded)."""
    stmt = select(Member).where(
        Member.group_id == ctx.group.id,
        Member.member_id == member_id,
        Member.status != MemberStatus.MERGED,
    )
    member: Member | None = await ctx.session.scalar(stmt)
    return member


async def offered_plan(ctx: ItemContext, plan_code: str) -> int | None:
    """The group plan id of ``plan_code`` when the group offers it."""
    stmt = (
        select(GroupPlan.id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(GroupPlan.group_id == ctx.group.id, Plan.code == plan_code)
    )
    plan_id: int | None = await ctx.session.scalar(stmt)
    return plan_id


def member_not_found(field: str = "memberId") -> Problem:
    return Problem(
        "MEMBER_NOT_FOUND",
        "No member of this group has this member ID; check it on the roster.",
        (field,),
    )


PLAN_NOT_OFFERED = Problem(
    "PLAN_NOT_OFFERED",
    "The group does not offer this plan; pick one of the group's plan codes.",
    ("planCode",),
)
