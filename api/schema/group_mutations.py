"""The rep's group-setup mutations (need `rep:groups`): create, update, offer a plan.

Rates are in ``api.schema.rates``, contacts in ``api.schema.contacts`` and activation in
``api.schema.group_activate``."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.enums import BillingMode
from api.schema.groups import Group
from api.schema.lookups import visible_group
from api.schema.plans import Plan
from api.schema.user_errors import UserError, user_errors
from api.services import groups as service
from api.services.rules import RuleViolation


@strawberry.input(description="A US postal address.")
class AddressInput:
    line1: str = strawberry.field(description="Street address.")
    line2: str | None = strawberry.field(default=None, description="Suite or unit.")
    city: str = strawberry.field(description="City.")
    state: str = strawberry.field(description="Two-letter state code.")
    postal_code: str = strawberry.field(description="5-digit ZIP or ZIP+4.")

    def to_service(self) -> service.AddressInput:
        return service.AddressInput(
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            state=self.state.strip().upper(),
            postal_code=self.postal_code.strip(),
        )


@strawberry.input(description="A new employer group; it starts in PENDING_SETUP.")
class GroupCreateInput:
    group_number: str = strawberry.field(description="G and six digits, unique, e.g. `G100234`.")
    name: str = strawberry.field(description="The employer's legal name.")
    address: AddressInput = strawberry.field(description="The employer's address.")
    billing_mode: BillingMode = strawberry.field(description="LIST_BILL or SELF_BILL.")
    effective_date: dt.date = strawberry.field(
        description="First day of coverage: a 1st of a month."
    )


@strawberry.enum(description="Why groupCreate refused.")
class GroupCreateErrorCode(enum.Enum):
    INVALID_GROUP_NUMBER = "INVALID_GROUP_NUMBER"
    GROUP_NUMBER_TAKEN = "GROUP_NUMBER_TAKEN"
    INVALID_NAME = "INVALID_NAME"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    EFFECTIVE_DATE_NOT_FIRST_OF_MONTH = "EFFECTIVE_DATE_NOT_FIRST_OF_MONTH"


@strawberry.type(description="A groupCreate failure.")
class GroupCreateUserError(UserError):
    code: GroupCreateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The created group, or why not.")
class GroupCreatePayload:
    group: Group | None = strawberry.field(description="The new group (null when refused).")
    user_errors: list[GroupCreateUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(
    description="Changes to a group; leave a field out to keep it. None of them may be null."
)
class GroupUpdateInput:
    id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    name: strawberry.Maybe[str] = strawberry.field(description="The employer's legal name.")
    address: strawberry.Maybe[AddressInput] = strawberry.field(
        description="The employer's address (all of it)."
    )
    billing_mode: strawberry.Maybe[BillingMode] = strawberry.field(
        description="LIST_BILL or SELF_BILL."
    )
    effective_date: strawberry.Maybe[dt.date] = strawberry.field(
        description="First day of coverage, a 1st of a month; only while PENDING_SETUP and "
        "not after any member's coverage begins."
    )
    full_file_terminates_missing: strawberry.Maybe[bool] = strawberry.field(
        description="Whether a full-file 834 terminates the covered members it leaves out "
        "(off by default: they are only reported)."
    )
    full_file_safety_percent: strawberry.Maybe[int | None] = strawberry.field(
        description="Above this share of the roster (1 to 100 %), a full file's terminations "
        "wait for a rep; null returns to the configured default (10 %)."
    )

    def to_service(self) -> service.GroupChanges:
        address = self.address.value.to_service() if self.address else None
        safety = self.full_file_safety_percent
        terminates = self.full_file_terminates_missing
        return service.GroupChanges(
            name=self.name.value if self.name else None,
            address=address,
            billing_mode=self.billing_mode.value if self.billing_mode else None,
            effective_date=self.effective_date.value if self.effective_date else None,
            full_file_terminates_missing=terminates.value if terminates else None,
            full_file_safety=service.SafetyShare(safety.value) if safety else None,
        )


@strawberry.enum(description="Why groupUpdate refused.")
class GroupUpdateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    GROUP_TERMINATED = strawberry.enum_value(
        "GROUP_TERMINATED", description="Terminated groups cannot be edited."
    )
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is blank.")
    INVALID_ADDRESS = strawberry.enum_value(
        "INVALID_ADDRESS", description="Part of the address is missing or malformed."
    )
    EFFECTIVE_DATE_NOT_FIRST_OF_MONTH = strawberry.enum_value(
        "EFFECTIVE_DATE_NOT_FIRST_OF_MONTH", description="The effective date is not a 1st."
    )
    EFFECTIVE_DATE_LOCKED = strawberry.enum_value(
        "EFFECTIVE_DATE_LOCKED", description="The group is past PENDING_SETUP."
    )
    COVERAGE_BEFORE_EFFECTIVE_DATE = strawberry.enum_value(
        "COVERAGE_BEFORE_EFFECTIVE_DATE", description="Some coverage starts before that date."
    )
    INVALID_SAFETY_PERCENT = strawberry.enum_value(
        "INVALID_SAFETY_PERCENT", description="The safety share is not from 1 to 100."
    )


@strawberry.type(description="A groupUpdate failure.")
class GroupUpdateUserError(UserError):
    code: GroupUpdateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The updated group, or why not.")
class GroupUpdatePayload:
    group: Group | None = strawberry.field(description="The group (null when refused).")
    user_errors: list[GroupUpdateUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A catalogue plan for a group to offer.")
class GroupPlanAddInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    plan_code: str = strawberry.field(description="The plan's code, from `plans`.")


@strawberry.enum(description="Why groupPlanAdd refused.")
class GroupPlanAddErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    GROUP_TERMINATED = strawberry.enum_value(
        "GROUP_TERMINATED", description="Terminated groups cannot be edited."
    )
    UNKNOWN_PLAN = strawberry.enum_value("UNKNOWN_PLAN", description="No plan has this code.")
    PLAN_ALREADY_OFFERED = strawberry.enum_value(
        "PLAN_ALREADY_OFFERED", description="The group already offers the plan."
    )


@strawberry.type(description="A groupPlanAdd failure.")
class GroupPlanAddUserError(UserError):
    code: GroupPlanAddErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The plan now offered, or why not.")
class GroupPlanAddPayload:
    group: Group | None = strawberry.field(description="The group (null when refused).")
    plan: Plan | None = strawberry.field(description="The plan added (null when refused).")
    user_errors: list[GroupPlanAddUserError] = strawberry.field(description="Empty on success.")


@strawberry.type
class GroupMutations:
    @strawberry.mutation(
        description="Create an employer group in PENDING_SETUP (rep:groups).",
        extensions=requires(REP_GROUPS),
    )
    async def group_create(
        self,
        info: strawberry.Info,
        input: Annotated[GroupCreateInput, strawberry.argument(description="The new group.")],
    ) -> GroupCreatePayload:
        new = service.NewGroup(
            group_number=input.group_number,
            name=input.name,
            address=input.address.to_service(),
            billing_mode=input.billing_mode,
            effective_date=input.effective_date,
        )
        try:
            group = await service.create_group(info.context.session, new)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(GroupCreateUserError, GroupCreateErrorCode, refused.problems)
            return GroupCreatePayload(group=None, user_errors=errors)
        await commit(
            info,
            "group.create",
            target_type="Group",
            target_id=group.group_number,
            changes={
                "name": group.name,
                "billingMode": group.billing_mode.value,
                "effectiveDate": group.effective_date.isoformat(),
            },
        )
        return GroupCreatePayload(group=Group.from_row(group), user_errors=[])

    @strawberry.mutation(
        description="Change a group's name, address, billing mode, how full eligibility "
        "files treat missing members or, while it is in PENDING_SETUP, its effective date "
        "(rep:groups). Terminated groups cannot be edited.",
        extensions=requires(REP_GROUPS),
    )
    async def group_update(
        self,
        info: strawberry.Info,
        input: Annotated[GroupUpdateInput, strawberry.argument(description="The changes.")],
    ) -> GroupUpdatePayload:
        try:
            group = await visible_group(info, input.id, field=("id",))
            changes = await service.update_group(info.context.session, group, input.to_service())
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(GroupUpdateUserError, GroupUpdateErrorCode, refused.problems)
            return GroupUpdatePayload(group=None, user_errors=errors)
        await commit(
            info,
            "group.update",
            target_type="Group",
            target_id=group.group_number,
            changes=changes,
        )
        return GroupUpdatePayload(group=Group.from_row(group), user_errors=[])

    @strawberry.mutation(
        description="Offer a catalogue plan in a group (rep:groups); give it rates next.",
        extensions=requires(REP_GROUPS),
    )
    async def group_plan_add(
        self,
        info: strawberry.Info,
        input: Annotated[GroupPlanAddInput, strawberry.argument(description="Group and plan.")],
    ) -> GroupPlanAddPayload:
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            plan = await service.add_plan(info.context.session, group, input.plan_code)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(GroupPlanAddUserError, GroupPlanAddErrorCode, refused.problems)
            return GroupPlanAddPayload(group=None, plan=None, user_errors=errors)
        await commit(
            info,
            "group.planAdd",
            target_type="Group",
            target_id=group.group_number,
            changes={"planCode": plan.code},
        )
        return GroupPlanAddPayload(
            group=Group.from_row(group), plan=Plan.from_row(plan), user_errors=[]
        )
