"""membersMerge (rep:eligibility): merge a duplicate member into a survivor, irreversibly
(SPEC §2 duplicates; rules in ``api.services.member_merge``)."""

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
from api.services import member_merge as service
from api.services.rules import Problem, RuleViolation, refuse_if
from db import models


@strawberry.input(description="Which record survives, which is the duplicate, and why.")
class MembersMergeInput:
    survivor_id: relay.GlobalID = strawberry.field(description="The member `id` that stays.")
    duplicate_id: relay.GlobalID = strawberry.field(
        description="The member `id` to merge; it becomes MERGED, pointing at the survivor."
    )
    reason: str = strawberry.field(description="Why they are the same person (audited).")


@strawberry.enum(description="Why membersMerge refused; nothing was changed.")
class MembersMergeErrorCode(enum.Enum):
    MEMBER_NOT_FOUND = strawberry.enum_value("MEMBER_NOT_FOUND", description="No such member.")
    SAME_MEMBER = strawberry.enum_value("SAME_MEMBER", description="Survivor is the duplicate.")
    DIFFERENT_GROUPS = strawberry.enum_value(
        "DIFFERENT_GROUPS", description="The members belong to different groups."
    )
    ALREADY_MERGED = strawberry.enum_value(
        "ALREADY_MERGED", description="One of them is already MERGED."
    )
    RELATIONSHIP_MISMATCH = strawberry.enum_value(
        "RELATIONSHIP_MISMATCH", description="Their relationships to the subscriber differ."
    )
    DIFFERENT_FAMILIES = strawberry.enum_value(
        "DIFFERENT_FAMILIES", description="Dependents of different subscribers."
    )
    COVERAGE_OVERLAP = strawberry.enum_value(
        "COVERAGE_OVERLAP",
        description="Both were covered on the same days; one member's spans cannot overlap.",
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Give a reason.")


@strawberry.type(description="A membersMerge failure.")
class MembersMergeUserError(UserError):
    code: MembersMergeErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The survivor and the merged duplicate, or why not.")
class MembersMergePayload:
    survivor: Member | None = strawberry.field(description="Null when refused.")
    duplicate: Member | None = strawberry.field(description="Now MERGED; null when refused.")
    user_errors: list[MembersMergeUserError] = strawberry.field(description="Empty on success.")


async def _member(info: strawberry.Info, gid: relay.GlobalID, field: str) -> models.Member:
    node_id = gid.node_id
    ok = gid.type_name == "Member" and node_id.isdigit() and len(node_id) < 19
    row = await info.context.loaders.member.load(int(node_id)) if ok else None
    if row is None:
        message = "No member with this ID; pass a member `id` from the roster."
        raise RuleViolation([Problem("MEMBER_NOT_FOUND", message, (field,))])
    member: models.Member = row
    return member


async def _merge(
    info: strawberry.Info, input: MembersMergeInput
) -> tuple[models.Member, models.Member, service.MergeResult]:
    blank = not input.reason.strip()
    refuse_if([Problem("REASON_REQUIRED", "Say why they are duplicates.", ("reason",))] * blank)
    survivor = await _member(info, input.survivor_id, "survivorId")
    duplicate = await _member(info, input.duplicate_id, "duplicateId")
    result = await service.merge_members(
        info.context.session, survivor=survivor, duplicate=duplicate
    )
    return survivor, duplicate, result


@strawberry.type
class MemberMergeMutations:
    @strawberry.mutation(
        description="Merge a duplicate member into a survivor of the same group "
        "(rep:eligibility). Coverage history, other coverage, ID-card requests and "
        "dependents move to the survivor; the duplicate becomes MERGED. Irreversible. "
        "Audit history is append-only and stays under the duplicate's member ID; the "
        "`member.merge` event links the two.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def members_merge(
        self,
        info: strawberry.Info,
        input: Annotated[MembersMergeInput, strawberry.argument(description="The two members.")],
    ) -> MembersMergePayload:
        try:
            survivor, duplicate, moved = await _merge(info, input)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(MembersMergeUserError, MembersMergeErrorCode, refused.problems)
            return MembersMergePayload(survivor=None, duplicate=None, user_errors=errors)
        info.context.audit.record(
            "member.mergedInto",
            target_type="Member",
            target_id=duplicate.member_id,
            changes={"survivor": survivor.member_id, "reason": input.reason},
        )
        changes = {
            "duplicate": duplicate.member_id,
            "duplicateRecord": str(duplicate.id),
            "reason": input.reason,
            "moved": {
                "coverages": moved.coverages,
                "otherCoverages": moved.other_coverages,
                "idCardRequests": moved.id_card_requests,
                "dependents": moved.dependents,
            },
        }
        await commit(
            info,
            "member.merge",
            target_type="Member",
            target_id=survivor.member_id,
            changes=changes,
        )
        # The commit released the connection: take one now, before the payload's fields
        # (coverages, dependents) load concurrently through the same session.
        await info.context.session.connection()
        return MembersMergePayload(
            survivor=Member.from_row(survivor),
            duplicate=Member.from_row(duplicate),
            user_errors=[],
        )
