"""Updating a member's demographics (SPEC §2): names, date of birth, sex, address.
Coverage does not change; the date rules still apply to the change's effective date."""

from __future__ import annotations

from api.services.eligibility.changes import UpdateMember
from api.services.eligibility.context import (
    ItemContext,
    Outcome,
    applied,
    find_member,
    member_not_found,
    refused,
)
from api.services.eligibility.rules import date_problems
from api.services.eligibility.spans import lock_family
from api.services.rules import Problem
from db.models import Member


async def update_member(ctx: ItemContext, change: UpdateMember) -> Outcome:
    member = await find_member(ctx, change.member_id)
    if member is None:
        return refused(ctx, [member_not_found()])
    await lock_family(ctx.session, member.subscriber_id or member.id)
    problems = date_problems(
        change, group_effective=ctx.group.effective_date, today=ctx.today, limits=ctx.limits
    )
    for name in (change.first_name, change.last_name):
        if name is not None and not name.strip():
            problems.append(Problem("INVALID_NAME", "A name cannot be blank.", ("firstName",)))
    outcome = refused(ctx, problems, member.id)
    if outcome.problems:
        return outcome
    _apply(member, change)
    await ctx.session.flush()
    return applied(member)


def _apply(member: Member, change: UpdateMember) -> None:
    if change.first_name is not None:
        member.first_name = change.first_name.strip()
    if change.last_name is not None:
        member.last_name = change.last_name.strip()
    if change.date_of_birth is not None:
        member.date_of_birth = change.date_of_birth
    if change.sex is not None:
        member.sex = change.sex
    if change.address is not None:
        address = change.address
        member.address_line1, member.address_line2 = address.line1, address.line2
        member.city, member.state = address.city, address.state
        member.postal_code = address.postal_code
