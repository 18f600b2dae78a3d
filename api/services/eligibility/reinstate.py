"""Reinstating a terminated member from a 1st (SPEC §2). A subscriber comes back alone,
on their last plan; each dependent is reinstated by its own change."""

from __future__ import annotations

from api.services.eligibility.add import SUBSCRIBER_NOT_COVERED, partner_problems
from api.services.eligibility.changes import Reinstate
from api.services.eligibility.context import (
    ItemContext,
    Outcome,
    applied,
    find_member,
    member_not_found,
    refused,
)
from api.services.eligibility.rules import age_limit_end, age_problems, date_problems
from api.services.eligibility.spans import (
    Family,
    Span,
    covered_on,
    lock_family,
    merged,
    write_family,
)
from api.services.rules import Problem
from db.models import Member, Relationship


async def reinstate(ctx: ItemContext, change: Reinstate) -> Outcome:
    member = await find_member(ctx, change.member_id)
    if member is None:
        return refused(ctx, [member_not_found()])
    family = await lock_family(ctx.session, member.subscriber_id or member.id)
    problems = date_problems(
        change, group_effective=ctx.group.effective_date, today=ctx.today, limits=ctx.limits
    )
    problems += _problems(ctx, family, member, change)
    outcome = refused(ctx, problems, member.id)
    if outcome.problems:
        return outcome
    spans = family.spans_of(member.id)
    end = None
    if member.relationship is Relationship.CHILD:
        end = age_limit_end(member.date_of_birth, ctx.limits)
    spans.append(Span(change.effective_date, end, spans[-1].plan))
    family.spans_of(member.id)[:] = merged(spans, by_plan=member.id == family.subscriber.id)
    await write_family(ctx.session, family, today=ctx.today)
    return applied(member)


def _problems(ctx: ItemContext, family: Family, member: Member, change: Reinstate) -> list[Problem]:
    spans = family.spans_of(member.id)
    last_end = spans[-1].end if spans else None
    if last_end is None or last_end >= change.effective_date:
        return [NOT_TERMINATED]
    if member.id == family.subscriber.id:
        return []
    problems = [] if covered_on(family.plans, change.effective_date) else [SUBSCRIBER_NOT_COVERED]
    problems += age_problems(
        relationship=member.relationship,
        date_of_birth=member.date_of_birth,
        effective=change.effective_date,
        limits=ctx.limits,
    )
    others = Family(family.subscriber, [d for d in family.dependents if d.id != member.id], {})
    others.covered = family.covered
    return problems + partner_problems(others, member.relationship, change.effective_date)


NOT_TERMINATED = Problem(
    "NOT_TERMINATED",
    "The member is still covered on or after this date (or never was): only a terminated "
    "member is reinstated, from a date after their coverage ended.",
    ("effectiveDate",),
)
