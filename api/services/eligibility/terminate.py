"""Terminating a member's coverage (SPEC §2): a subscriber's termination ends every
dependent's coverage on the same date (or keeps an earlier end)."""

from __future__ import annotations

from api.services.eligibility.changes import Terminate
from api.services.eligibility.context import (
    ItemContext,
    Outcome,
    applied,
    find_member,
    member_not_found,
    refused,
)
from api.services.eligibility.rules import date_problems
from api.services.eligibility.spans import Family, covered_on, lock_family, truncate, write_family
from api.services.rules import Problem
from db.models import Member


async def terminate(ctx: ItemContext, change: Terminate) -> Outcome:
    member = await find_member(ctx, change.member_id)
    if member is None:
        return refused(ctx, [member_not_found()])
    family = await lock_family(ctx.session, member.subscriber_id or member.id)
    problems = date_problems(
        change, group_effective=ctx.group.effective_date, today=ctx.today, limits=ctx.limits
    )
    if covered_on(family.spans_of(member.id), change.effective_date) is None:
        problems.append(NOT_COVERED)
    outcome = refused(ctx, problems, member.id)
    if outcome.problems:
        return outcome
    _end(family, member, change)
    await write_family(ctx.session, family, today=ctx.today)
    return applied(member)


def _end(family: Family, member: Member, change: Terminate) -> None:
    last_day = change.effective_date
    if member.id != family.subscriber.id:
        family.covered[member.id] = truncate(family.covered.get(member.id, []), last_day)
        return
    family.plans = truncate(family.plans, last_day)
    for pk, spans in family.covered.items():
        family.covered[pk] = truncate(spans, last_day)


NOT_COVERED = Problem(
    "NOT_COVERED",
    "The member is not covered on this date (their coverage may already end earlier, for "
    "instance with the subscriber's); check the member's coverage history.",
    ("effectiveDate",),
)
