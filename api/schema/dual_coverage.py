"""Dual coverage with this carrier (SPEC §2): candidates for reps, the rep's confirmation,
and ``Member.dualCoverage`` (rules in ``api.services.dual_coverage``)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_ELIGIBILITY
from api.resolvers.mutations import commit, discard
from api.schema.members import Member
from api.schema.user_errors import UserError, user_errors
from api.services import dual_coverage as service
from api.services.cob import CobRule
from api.services.dual_coverage import DualRelation, Side
from api.services.rules import Problem, RuleViolation
from db import models
from db.models import AccessLevel
from db.queries import groups as group_queries
from db.queries.member_records import DualLinkRow, MemberRecord

strawberry.enum(
    DualRelation,
    description="SAME_PERSON: one person with two member records here. SPOUSE: a spouse or "
    "partner dependent in one group who is a subscriber in another.",
)


@strawberry.type(description="A possible dual coverage: a member matching one elsewhere here.")
class DualCoverageCandidate:
    member: Member = strawberry.field(description="The member of the group asked about.")
    other_group_number: str = strawberry.field(description="The other member's group.")
    other_member_id: str = strawberry.field(description="The other member's member ID.")
    other_id: relay.GlobalID = strawberry.field(description="The other member's `id`.")
    relation: DualRelation = strawberry.field(description="What the match suggests.")


@strawberry.type(description="A confirmed link to the member's other record with this carrier.")
class DualCoverage:
    other_group_number: str | None = strawberry.field(
        description="The linked member's group; null unless you may see that group."
    )
    other_member_id: str | None = strawberry.field(
        description="The linked member's member ID; null unless you may see that group."
    )
    relation: DualRelation = strawberry.field(description="Same person or spouse.")
    is_primary: bool = strawberry.field(description="This member's record pays first.")
    rule: CobRule = strawberry.field(description="The rule that decided the order.")


async def candidates(info: strawberry.Info, group_number: str) -> list[DualCoverageCandidate]:
    """``dualCoverageCandidates``: empty when the group is not found."""
    ctx = info.context
    group = await group_queries.group_by_number(ctx.session, ctx.principal, group_number)
    if group is None:
        return []
    found = await service.candidates(ctx.session, group_id=group.id)
    return [
        DualCoverageCandidate(
            member=Member.from_row(c.member),
            other_group_number=c.other_group_number,
            other_member_id=c.other.member_id,
            other_id=relay.GlobalID("Member", str(c.other.id)),
            relation=c.relation,
        )
        for c in found
    ]


def _side(record: MemberRecord) -> Side:
    return Side(record.member, record.holder_birth_date, record.holder_since)


def _shown(info: strawberry.Info, row: DualLinkRow) -> DualCoverage:
    primary, rule = service.this_side_primary(_side(row.mine), _side(row.other))
    other = row.other.member
    visible = info.context.principal.may_access(other.group_id, "eligibility", AccessLevel.VIEW)
    return DualCoverage(
        other_group_number=row.other.group_number if visible else None,
        other_member_id=other.member_id if visible else None,
        relation=DualRelation(row.relation),
        is_primary=primary,
        rule=rule,
    )


async def dual_coverage_of(info: strawberry.Info, member_pk: int) -> list[DualCoverage]:
    """``Member.dualCoverage``: each confirmed link and which side pays first."""
    rows = await info.context.loaders.dual_links.load(member_pk)
    return [_shown(info, row) for row in rows]


@strawberry.input(description="Confirm that two members here are the same person or spouses.")
class DualCoverageConfirmInput:
    member_id: relay.GlobalID = strawberry.field(description="One member's `id`.")
    other_member_id: relay.GlobalID = strawberry.field(description="The other's, another group.")
    relation: DualRelation = strawberry.field(description="Same person or spouse.")
    note: str | None = strawberry.field(default=None, description="The rep's note.")


@strawberry.enum(description="Why dualCoverageConfirm refused.")
class DualCoverageConfirmErrorCode(enum.Enum):
    MEMBER_NOT_FOUND = strawberry.enum_value("MEMBER_NOT_FOUND", description="No such member.")
    SAME_MEMBER = strawberry.enum_value("SAME_MEMBER", description="The same member twice.")
    SAME_GROUP = strawberry.enum_value(
        "SAME_GROUP", description="Both in one group: merge duplicates instead."
    )
    MEMBER_MERGED = strawberry.enum_value("MEMBER_MERGED", description="One was merged.")
    ALREADY_LINKED = strawberry.enum_value("ALREADY_LINKED", description="Already linked.")


@strawberry.type(description="A dualCoverageConfirm failure.")
class DualCoverageConfirmUserError(UserError):
    code: DualCoverageConfirmErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The member with its new link, or why not.")
class DualCoverageConfirmPayload:
    member: Member | None = strawberry.field(description="Null when refused.")
    user_errors: list[DualCoverageConfirmUserError] = strawberry.field(
        description="Empty on success."
    )


async def _load(info: strawberry.Info, gid: relay.GlobalID, field: str) -> models.Member:
    node_id = gid.node_id
    ok = gid.type_name == "Member" and node_id.isdigit() and len(node_id) < 19
    row = await info.context.loaders.member.load(int(node_id)) if ok else None
    if row is None:
        raise RuleViolation([Problem("MEMBER_NOT_FOUND", "No member with this ID.", (field,))])
    member: models.Member = row
    return member


@strawberry.type
class DualCoverageMutations:
    @strawberry.mutation(
        description="Confirm a dual coverage found by `dualCoverageCandidates` "
        "(rep:eligibility); both members then show it in `dualCoverage`.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def dual_coverage_confirm(
        self,
        info: strawberry.Info,
        input: Annotated[DualCoverageConfirmInput, strawberry.argument(description="The pair.")],
    ) -> DualCoverageConfirmPayload:
        ctx = info.context
        try:
            member = await _load(info, input.member_id, "memberId")
            other = await _load(info, input.other_member_id, "otherMemberId")
            await service.confirm(
                ctx.session, member=member, other=other, relation=input.relation,
                note=input.note, user_id=ctx.principal.user_id,
            )  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                DualCoverageConfirmUserError, DualCoverageConfirmErrorCode, refused.problems
            )
            return DualCoverageConfirmPayload(member=None, user_errors=errors)
        changes = {"other": other.member_id, "relation": input.relation.value}
        await commit(
            info,
            "member.dualCoverageConfirm",
            target_type="Member",
            target_id=member.member_id,
            changes=changes,
        )
        return DualCoverageConfirmPayload(member=Member.from_row(member), user_errors=[])
