"""A group's contacts: the type and ``groupContactAdd`` / ``groupContactRemove``."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.lookups import visible_contact, visible_group
from api.schema.nodes import load_nodes
from api.schema.user_errors import UserError, user_errors
from api.services import contacts as service
from api.services.rules import RuleViolation
from db import models

ContactKind = models.ContactKind
strawberry.enum(
    ContactKind,
    description="Who a group contact is: BENEFIT_LEADER (the employer's benefits "
    "administrator), BILLING (receives invoices and billing notices), SALES_REPRESENTATIVE "
    "(the carrier's sales representative for the group).",
)


@strawberry.type(description="A person to reach about a group.")
class GroupContact(relay.Node):
    pk: relay.NodeID[int]
    kind: ContactKind = strawberry.field(description="The contact's role for the group.")
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Email address, as given.")
    phone: str | None = strawberry.field(description="10-digit US phone number, if given.")

    @classmethod
    def from_row(cls, row: models.GroupContact) -> Self:
        return cls(pk=row.id, kind=row.kind, name=row.name, email=row.email, phone=row.phone)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.contact, cls.from_row)


@strawberry.input(description="A new contact of a group.")
class GroupContactAddInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    kind: ContactKind = strawberry.field(description="The contact's role for the group.")
    name: str = strawberry.field(description="Full name, up to 200 characters.")
    email: str = strawberry.field(description="One email address; unique per group and kind.")
    phone: str | None = strawberry.field(
        default=None, description="A 10-digit US phone number; punctuation is ignored."
    )

    def to_service(self) -> service.NewContact:
        return service.NewContact(
            kind=self.kind, name=self.name, email=self.email, phone=self.phone
        )


@strawberry.enum(description="Why groupContactAdd refused.")
class GroupContactAddErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is blank.")
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="Not one email address.")
    INVALID_PHONE = strawberry.enum_value("INVALID_PHONE", description="Not a US phone number.")
    CONTACT_EXISTS = strawberry.enum_value(
        "CONTACT_EXISTS", description="The group has this email as this kind of contact."
    )


@strawberry.type(description="A groupContactAdd failure.")
class GroupContactAddUserError(UserError):
    code: GroupContactAddErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The added contact, or why not.")
class GroupContactAddPayload:
    contact: GroupContact | None = strawberry.field(description="Null when refused.")
    user_errors: list[GroupContactAddUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="The contact to remove.")
class GroupContactRemoveInput:
    id: relay.GlobalID = strawberry.field(description="The contact's `id`.")


@strawberry.enum(description="Why groupContactRemove refused.")
class GroupContactRemoveErrorCode(enum.Enum):
    CONTACT_NOT_FOUND = strawberry.enum_value("CONTACT_NOT_FOUND", description="No such contact.")


@strawberry.type(description="A groupContactRemove failure.")
class GroupContactRemoveUserError(UserError):
    code: GroupContactRemoveErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The removed contact's ID, or why not.")
class GroupContactRemovePayload:
    removed_contact_id: relay.GlobalID | None = strawberry.field(
        description="The `id` the contact had (null when refused)."
    )
    user_errors: list[GroupContactRemoveUserError] = strawberry.field(
        description="Empty on success."
    )


async def _group_number(info: strawberry.Info, contact: models.GroupContact) -> str:
    group: models.Group | None = await info.context.loaders.group.load(contact.group_id)
    if group is None:  # the contact was loaded in scope, so its group is too
        raise LookupError(f"group {contact.group_id} of contact {contact.id} is not visible")
    return group.group_number


@strawberry.type
class ContactMutations:
    @strawberry.mutation(
        description="Add a benefit leader, billing contact or sales representative to a group "
        "(rep:groups).",
        extensions=requires(REP_GROUPS),
    )
    async def group_contact_add(
        self,
        info: strawberry.Info,
        input: Annotated[GroupContactAddInput, strawberry.argument(description="The contact.")],
    ) -> GroupContactAddPayload:
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            contact = await service.add_contact(info.context.session, group, input.to_service())
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                GroupContactAddUserError, GroupContactAddErrorCode, refused.problems
            )
            return GroupContactAddPayload(contact=None, user_errors=errors)
        changes = {"kind": str(contact.kind), "name": contact.name, "email": contact.email}
        await commit(
            info,
            "group.contactAdd",
            target_type="Group",
            target_id=group.group_number,
            changes=changes,
        )
        return GroupContactAddPayload(contact=GroupContact.from_row(contact), user_errors=[])

    @strawberry.mutation(
        description="Remove a contact from its group (rep:groups).",
        extensions=requires(REP_GROUPS),
    )
    async def group_contact_remove(
        self,
        info: strawberry.Info,
        input: Annotated[GroupContactRemoveInput, strawberry.argument(description="Which one.")],
    ) -> GroupContactRemovePayload:
        try:
            contact = await visible_contact(info, input.id, field=("id",))
        except RuleViolation as refused:
            errors = user_errors(
                GroupContactRemoveUserError, GroupContactRemoveErrorCode, refused.problems
            )
            return GroupContactRemovePayload(removed_contact_id=None, user_errors=errors)
        target = await _group_number(info, contact)
        changes = {"kind": str(contact.kind), "email": contact.email}
        await service.remove_contact(info.context.session, contact)
        await commit(
            info, "group.contactRemove", target_type="Group", target_id=target, changes=changes
        )
        return GroupContactRemovePayload(removed_contact_id=input.id, user_errors=[])
