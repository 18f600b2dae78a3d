"""otherCoverageAdd / otherCoverageEnd (SPEC §2 COB): eligibility:write with MANAGE access
to the member's group, or a rep."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import ELIGIBILITY_WRITE
from api.resolvers.mutations import commit, discard
from api.schema.cob import OtherCoverage
from api.schema.id_cards import managed_members
from api.schema.user_errors import UserError, user_errors
from api.services import cob as service
from api.services.dates import today
from api.services.rules import Problem, RuleViolation
from db import models


@strawberry.input(description="A member's coverage with another carrier.")
class OtherCoverageAddInput:
    member_id: relay.GlobalID = strawberry.field(description="The member's `id`.")
    carrier_name: str = strawberry.field(description="The other carrier's name.")
    policy_number: str = strawberry.field(description="Policy (subscriber) number there.")
    group_number: str | None = strawberry.field(
        default=None, description="Group number there, if any."
    )
    policy_holder_name: str = strawberry.field(
        description="The policy holder's full name (the member's own name when it is their "
        "own policy)."
    )
    policy_holder_birth_date: dt.date | None = strawberry.field(
        default=None, description="The policy holder's date of birth (birthday rule)."
    )
    policy_holder_since: dt.date | None = strawberry.field(
        default=None, description="Since when that plan has covered its holder (ties)."
    )
    effective_date: dt.date = strawberry.field(description="First day it covers the member.")

    def to_service(self) -> service.NewOtherCoverage:
        return service.NewOtherCoverage(
            carrier_name=self.carrier_name,
            policy_number=self.policy_number,
            group_number=self.group_number,
            policy_holder_name=self.policy_holder_name,
            policy_holder_birth_date=self.policy_holder_birth_date,
            policy_holder_since=self.policy_holder_since,
            effective_date=self.effective_date,
        )


@strawberry.enum(description="Why otherCoverageAdd or otherCoverageEnd refused.")
class OtherCoverageErrorCode(enum.Enum):
    MEMBER_NOT_FOUND = strawberry.enum_value(
        "MEMBER_NOT_FOUND", description="No member you may manage has this ID."
    )
    OTHER_COVERAGE_NOT_FOUND = strawberry.enum_value(
        "OTHER_COVERAGE_NOT_FOUND", description="No other coverage you may manage has this ID."
    )
    INVALID_CARRIER_NAME = strawberry.enum_value("INVALID_CARRIER_NAME", description="Blank.")
    INVALID_POLICY_NUMBER = strawberry.enum_value("INVALID_POLICY_NUMBER", description="Blank.")
    INVALID_POLICY_HOLDER = strawberry.enum_value(
        "INVALID_POLICY_HOLDER", description="Blank name or a birth date in the future."
    )
    INVALID_DATES = strawberry.enum_value(
        "INVALID_DATES", description="The dates are out of order."
    )
    ALREADY_ENDED = strawberry.enum_value("ALREADY_ENDED", description="It already ended.")


@strawberry.type(description="An otherCoverageAdd or otherCoverageEnd failure.")
class OtherCoverageUserError(UserError):
    code: OtherCoverageErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The other coverage added or ended, or why not.")
class OtherCoveragePayload:
    other_coverage: OtherCoverage | None = strawberry.field(description="Null when refused.")
    user_errors: list[OtherCoverageUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="End a member's other coverage.")
class OtherCoverageEndInput:
    id: relay.GlobalID = strawberry.field(description="The other coverage's `id`.")
    termination_date: dt.date = strawberry.field(description="Its last covered day.")


async def _add(
    info: strawberry.Info, input: OtherCoverageAddInput
) -> tuple[str, models.OtherCoverage]:
    [member] = await managed_members(info, [input.member_id], field="memberId")
    row = service.new_other_coverage(member_id=member.id, new=input.to_service(), today=today())
    info.context.session.add(row)
    await info.context.session.flush()
    return member.member_id, row


async def _end(
    info: strawberry.Info, input: OtherCoverageEndInput
) -> tuple[str, models.OtherCoverage]:
    node_id = input.id.node_id
    ok = input.id.type_name == "OtherCoverage" and node_id.isdigit() and len(node_id) < 19
    row = await info.context.loaders.other_coverage.load(int(node_id)) if ok else None
    if row is None:
        message = "No other coverage with this ID; pass an `id` from `Member.otherCoverages`."
        raise RuleViolation([Problem("OTHER_COVERAGE_NOT_FOUND", message, ("id",))])
    member_gid = relay.GlobalID("Member", str(row.member_id))
    try:
        [member] = await managed_members(info, [member_gid], field="id")
    except RuleViolation as refused:
        raise RuleViolation(
            [Problem("OTHER_COVERAGE_NOT_FOUND", refused.problems[0].message, ("id",))]
        ) from None
    service.end_other_coverage(row, termination_date=input.termination_date)
    await info.context.session.flush()
    return member.member_id, row


def _refused(problems: list[Problem]) -> OtherCoveragePayload:
    errors = user_errors(OtherCoverageUserError, OtherCoverageErrorCode, problems)
    return OtherCoveragePayload(other_coverage=None, user_errors=errors)


@strawberry.type
class CobMutations:
    @strawberry.mutation(
        description="Record a member's coverage with another carrier (eligibility:write with "
        "MANAGE on the member's group, or a rep); the COB order is recomputed from it.",
        extensions=requires(ELIGIBILITY_WRITE),
    )
    async def other_coverage_add(
        self,
        info: strawberry.Info,
        input: Annotated[OtherCoverageAddInput, strawberry.argument(description="The coverage.")],
    ) -> OtherCoveragePayload:
        try:
            member_id, row = await _add(info, input)
        except RuleViolation as refused:
            await discard(info)
            return _refused(refused.problems)
        changes = {"carrierName": row.carrier_name, "effectiveDate": row.effective_date.isoformat()}
        await commit(
            info,
            "member.otherCoverageAdd",
            target_type="Member",
            target_id=member_id,
            changes=changes,
        )
        return OtherCoveragePayload(other_coverage=OtherCoverage.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="End a member's other coverage on a date (eligibility:write with MANAGE "
        "on the member's group, or a rep).",
        extensions=requires(ELIGIBILITY_WRITE),
    )
    async def other_coverage_end(
        self,
        info: strawberry.Info,
        input: Annotated[OtherCoverageEndInput, strawberry.argument(description="Which, when.")],
    ) -> OtherCoveragePayload:
        try:
            member_id, row = await _end(info, input)
        except RuleViolation as refused:
            await discard(info)
            return _refused(refused.problems)
        changes = {
            "otherCoverage": str(row.id),
            "terminationDate": input.termination_date.isoformat(),
        }
        await commit(
            info,
            "member.otherCoverageEnd",
            target_type="Member",
            target_id=member_id,
            changes=changes,
        )
        return OtherCoveragePayload(other_coverage=OtherCoverage.from_row(row), user_errors=[])
