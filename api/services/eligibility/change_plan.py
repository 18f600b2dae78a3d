"""Moving a subscriber's family to another of the group's plans from a 1st (SPEC §2)."""

from __future__ import annotations

import datetime as dt

from api.services.eligibility.changes import ChangePlan
from api.services.eligibility.context import (
    PLAN_NOT_OFFERED,
    ItemContext,
    Outcome,
    applied,
    find_member,
    member_not_found,
    offered_plan,
    refused,
)
from api.services.eligibility.rules import date_problems
from api.services.eligibility.spans import (
    ONE_DAY,
    Span,
    covered_on,
    lock_family,
    merged,
    write_family,
)
from api.services.rules import Problem
from db.models import Relationship


async def change_plan(ctx: ItemContext, change: ChangePlan) -> Outcome:
    member = await find_member(ctx, change.member_id)
    if member is None or member.relationship is not Relationship.SUBSCRIBER:
        return refused(ctx, [member_not_found()] if member is None else [NOT_A_SUBSCRIBER])
    family = await lock_family(ctx.session, member.id)
    problems = date_problems(
        change, group_effective=ctx.group.effective_date, today=ctx.today, limits=ctx.limits
    )
    plan = await offered_plan(ctx, change.plan_code)
    current = covered_on(family.plans, change.effective_date)
    if plan is None:
        problems.append(PLAN_NOT_OFFERED)
    elif current is None:
        problems.append(NOT_COVERED)
    elif current.plan == plan:
        problems.append(SAME_PLAN)
    outcome = refused(ctx, problems, member.id)
    if outcome.problems or plan is None:
        return outcome
    family.plans = switch(family.plans, change.effective_date, plan)
    await write_family(ctx.session, family, today=ctx.today)
    return applied(member)


def switch(spans: list[Span], day: dt.date, plan: int) -> list[Span]:
    """``spans`` under ``plan`` from ``day`` on, split where a span straddles ``day``."""
    result: list[Span] = []
    for span in spans:
        if span.start < day and span.covers(day):
            result.append(Span(span.start, day - ONE_DAY, span.plan))
            result.append(Span(day, span.end, plan))
        else:
            result.append(Span(span.start, span.end, plan if span.start >= day else span.plan))
    return merged(result, by_plan=True)


NOT_A_SUBSCRIBER = Problem(
    "NOT_A_SUBSCRIBER",
    "Plans are changed for the whole family: give the subscriber's member ID.",
    ("memberId",),
)
NOT_COVERED = Problem(
    "NOT_COVERED",
    "The subscriber is not covered on this date; reinstate them first.",
    ("effectiveDate",),
)
SAME_PLAN = Problem("SAME_PLAN", "The family is already on this plan on that date.", ("planCode",))
