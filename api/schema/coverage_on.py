"""Coverage on a date and a group's claims status, for the claims system and staff
(SPEC §2 Members and coverage; SPEC §2 Delinquency: claims pend for a suspended group).

Reading a member's coverage is a read of PHI: each answer records a ``member.read`` event.
A member or group that does not exist or is not visible is null (no existence leaks).
"""

from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry

from api.schema.enums import CoverageTier, GroupStatus
from api.schema.members import Member
from api.schema.plans import Plan
from api.schema.rates import Period
from api.services import coverage_on as service
from db import models
from db.queries import groups as group_queries
from db.queries import members as member_queries
from db.queries.members import CoverageRow

CoverageOnReason = service.CoverageOnReason
strawberry.enum(
    CoverageOnReason,
    description="Why a claim on the day would not simply pay: NOT_YET_EFFECTIVE (coverage "
    "starts later), TERMINATED (coverage ended earlier), NO_COVERAGE (none on file), "
    "GROUP_SUSPENDED (covered, but the group is suspended for non-payment: claims pend).",
)


@strawberry.type(description="Whether a member is covered on a day, and whether claims pend.")
class CoverageOnDate:
    member: Member = strawberry.field(description="The member asked about.")
    date: dt.date = strawberry.field(description="The day asked about.")
    covered: bool = strawberry.field(description="A coverage span covers the day.")
    plan: Plan | None = strawberry.field(description="The plan in force; null when not covered.")
    tier: CoverageTier | None = strawberry.field(
        description="The tier in force; null when not covered."
    )
    span: Period | None = strawberry.field(
        description="The coverage span covering the day; null when not covered."
    )
    claims_pended: bool = strawberry.field(
        description="Claims pend because the member's group is suspended for non-payment "
        "(SPEC Delinquency); lifted when the group is brought current."
    )
    reason: CoverageOnReason | None = strawberry.field(
        description="Why a claim would not simply pay; null when covered and not pended."
    )
    message: str | None = strawberry.field(
        description="The reason in plain English, with what to do; null with `reason`."
    )
    merged_from: str | None = strawberry.field(
        default=None,
        description="The member ID asked about when it is a merged duplicate: the answer is "
        "for `member`, the record its history moved to. Null otherwise.",
    )

    @classmethod
    def build(
        cls, member: models.Member, group: models.Group, spans: list[CoverageRow], day: dt.date
    ) -> Self:
        span = service.span_on(spans, day)
        verdict = service.verdict(spans=spans, day=day, group_status=group.status)
        return cls(
            member=Member.from_row(member),
            date=day,
            covered=verdict.covered,
            plan=None if span is None else Plan.from_row(span.plan),
            tier=None if span is None else span.coverage.tier,
            span=None
            if span is None
            else Period(start=span.effective_date, end=span.termination_date),
            claims_pended=verdict.claims_pended,
            reason=verdict.reason,
            message=verdict.message,
        )


@strawberry.type(description="Whether claims for a group's members pay or pend.")
class GroupClaimsStatus:
    group_number: str = strawberry.field(description="The group's number.")
    status: GroupStatus = strawberry.field(description="The group's lifecycle status.")
    claims_pended: bool = strawberry.field(
        description="Claims pend for all the group's members (the group is suspended)."
    )


async def coverage_on(info: strawberry.Info, member_id: str, day: dt.date) -> CoverageOnDate | None:
    """The member's coverage on ``day``; null when the member is unknown or not visible."""
    ctx = info.context
    found = await member_queries.member_with_group(ctx.session, ctx.principal, member_id)
    if found is None:
        return None
    asked, group = found
    member = await _survivor(info, asked)
    ctx.audit.record("member.read", target_type="Member", target_id=member.member_id)
    spans = await ctx.loaders.coverages.load(member.id)
    answer = CoverageOnDate.build(member, group, spans, day)
    answer.merged_from = asked.member_id if member is not asked else None
    return answer


async def _survivor(info: strawberry.Info, member: models.Member) -> models.Member:
    """A MERGED duplicate's history lives on its survivor (same group): answer for it."""
    if member.merged_into_id is None:
        return member
    survivor: models.Member | None = await info.context.loaders.member.load(member.merged_into_id)
    return member if survivor is None else survivor


async def group_claims_status(info: strawberry.Info, group_number: str) -> GroupClaimsStatus | None:
    """The group's status and claims pend; null when not found or not visible."""
    ctx = info.context
    group = await group_queries.group_by_number(ctx.session, ctx.principal, group_number)
    if group is None:
        return None
    return GroupClaimsStatus(
        group_number=group.group_number,
        status=group.status,
        claims_pended=service.claims_pended(group.status),
    )
