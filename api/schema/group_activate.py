"""``groupActivate``: a rep puts a fully set-up group into force (SPEC §2 Groups)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.groups import Group
from api.schema.lookups import visible_group
from api.schema.user_errors import UserError, user_errors
from api.services.group_activation import activate_group
from api.services.rules import RuleViolation


@strawberry.input(description="The group to activate.")
class GroupActivateInput:
    id: relay.GlobalID = strawberry.field(description="The group's `id`.")


@strawberry.enum(description="Why groupActivate refused; one error per unmet precondition.")
class GroupActivateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    NOT_PENDING_SETUP = strawberry.enum_value(
        "NOT_PENDING_SETUP", description="Only a group in PENDING_SETUP can be activated."
    )
    NO_PLANS_OFFERED = strawberry.enum_value(
        "NO_PLANS_OFFERED", description="The group offers no plan yet (groupPlanAdd)."
    )
    PLAN_WITHOUT_RATES = strawberry.enum_value(
        "PLAN_WITHOUT_RATES",
        description="An offered plan has no rate schedule covering the effective date; "
        '`field` is `["plans", <plan code>]`.',
    )
    NO_SUBSCRIBER_ENROLLED = strawberry.enum_value(
        "NO_SUBSCRIBER_ENROLLED", description="No subscriber has coverage in the group yet."
    )


@strawberry.type(description="A groupActivate failure.")
class GroupActivateUserError(UserError):
    code: GroupActivateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The activated group, or every reason it cannot be activated yet.")
class GroupActivatePayload:
    group: Group | None = strawberry.field(description="The ACTIVE group (null when refused).")
    user_errors: list[GroupActivateUserError] = strawberry.field(description="Empty on success.")


@strawberry.type
class GroupActivateMutations:
    @strawberry.mutation(
        description="Move a group from PENDING_SETUP to ACTIVE (rep:groups) once every offered "
        "plan has a rate schedule covering the effective date and a subscriber is enrolled; "
        "EDI operations is emailed to load the initial eligibility.",
        extensions=requires(REP_GROUPS),
    )
    async def group_activate(
        self,
        info: strawberry.Info,
        input: Annotated[GroupActivateInput, strawberry.argument(description="Which group.")],
    ) -> GroupActivatePayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.id, field=("id",))
            edi = ctx.settings.edi_operations_email
            await activate_group(ctx.session, group, edi_operations=edi)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(GroupActivateUserError, GroupActivateErrorCode, refused.problems)
            return GroupActivatePayload(group=None, user_errors=errors)
        await commit(
            info,
            "group.activate",
            target_type="Group",
            target_id=group.group_number,
            changes={"status": group.status.value},
        )
        return GroupActivatePayload(group=Group.from_row(group), user_errors=[])
