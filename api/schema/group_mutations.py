"""The rep's group-setup mutations (need `rep:groups`)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry

from api.auth.permissions import requires
from api.auth.policy import REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.enums import BillingMode
from api.schema.groups import Group
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
