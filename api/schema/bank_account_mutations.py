"""bankAccountAdd, bankAccountRemove and bankAccountSetAutopay: a group's ACH accounts,
managed by benefit leaders with billing MANAGE (`billing:write`) and by representatives.

The routing and account numbers go in once, are checked and stored encrypted; no payload,
error message or audit event carries them (the audit keeps the last four digits)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import BILLING_WRITE
from api.resolvers.mutations import commit, discard
from api.schema.bank_accounts import BankAccount, bank_account_loader
from api.schema.lookups import pk_of, visible_group
from api.schema.payments import bank_cipher, ensure_manages_billing
from api.schema.user_errors import UserError, user_errors
from api.services import bank_accounts as service
from api.services.rules import RuleViolation
from db import models
from db.models import BankAccountType


@strawberry.input(description="A bank account for a group to pay from by ACH.")
class BankAccountAddInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    holder_name: str = strawberry.field(
        description="The name on the account, as the bank has it (at most 100 characters)."
    )
    account_type: BankAccountType = strawberry.field(description="CHECKING or SAVINGS.")
    routing_number: str = strawberry.field(
        description="The 9-digit ABA routing number (its check digit is verified). Stored "
        "encrypted; only its last four digits are ever shown."
    )
    account_number: str = strawberry.field(
        description="The account number, 4 to 17 digits (spaces and hyphens are ignored). "
        "Stored encrypted; only its last four digits are ever shown."
    )
    autopay: bool = strawberry.field(
        default=False,
        description="Pay each issued invoice from this account automatically (replaces the "
        "group's current autopay account).",
    )

    def to_service(self) -> service.NewBankAccount:
        return service.NewBankAccount(
            holder_name=self.holder_name,
            account_type=self.account_type,
            routing_number=self.routing_number,
            account_number=self.account_number,
            autopay=self.autopay,
        )


@strawberry.enum(description="Why bankAccountAdd refused.")
class BankAccountAddErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    HOLDER_NAME_INVALID = strawberry.enum_value(
        "HOLDER_NAME_INVALID", description="The name is blank or over 100 characters."
    )
    ROUTING_NUMBER_INVALID = strawberry.enum_value(
        "ROUTING_NUMBER_INVALID", description="Not 9 digits, or the check digit is wrong."
    )
    ACCOUNT_NUMBER_INVALID = strawberry.enum_value(
        "ACCOUNT_NUMBER_INVALID", description="Not 4 to 17 digits."
    )
    BANK_ACCOUNT_ALREADY_ADDED = strawberry.enum_value(
        "BANK_ACCOUNT_ALREADY_ADDED", description="The group already has this account."
    )
    TOO_MANY_BANK_ACCOUNTS = strawberry.enum_value(
        "TOO_MANY_BANK_ACCOUNTS", description="The group already has 10 accounts."
    )


@strawberry.type(description="A bankAccountAdd failure.")
class BankAccountAddUserError(UserError):
    code: BankAccountAddErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The stored account, or why not.")
class BankAccountAddPayload:
    bank_account: BankAccount | None = strawberry.field(
        description="The account (null when refused)."
    )
    user_errors: list[BankAccountAddUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A bank account to remove.")
class BankAccountRemoveInput:
    bank_account_id: relay.GlobalID = strawberry.field(description="The account's `id`.")


@strawberry.input(description="Turn a bank account's autopay on or off.")
class BankAccountSetAutopayInput:
    bank_account_id: relay.GlobalID = strawberry.field(description="The account's `id`.")
    autopay: bool = strawberry.field(
        description="true: pay each issued invoice from it (the group's other account stops "
        "being its autopay account); false: stop autopay."
    )


_NOT_FOUND = strawberry.enum_value(
    "BANK_ACCOUNT_NOT_FOUND", description="No such active bank account."
)


@strawberry.enum(description="Why bankAccountRemove refused.")
class BankAccountRemoveErrorCode(enum.Enum):
    BANK_ACCOUNT_NOT_FOUND = _NOT_FOUND


@strawberry.type(description="A bankAccountRemove failure.")
class BankAccountRemoveUserError(UserError):
    code: BankAccountRemoveErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.enum(description="Why bankAccountSetAutopay refused.")
class BankAccountSetAutopayErrorCode(enum.Enum):
    BANK_ACCOUNT_NOT_FOUND = _NOT_FOUND


@strawberry.type(description="A bankAccountSetAutopay failure.")
class BankAccountSetAutopayUserError(UserError):
    code: BankAccountSetAutopayErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The removed account's ID, or why not.")
class BankAccountRemovePayload:
    removed_bank_account_id: relay.GlobalID | None = strawberry.field(
        description="The `id` of the account removed (null when refused)."
    )
    user_errors: list[BankAccountRemoveUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The account with its autopay set, or why not.")
class BankAccountSetAutopayPayload:
    bank_account: BankAccount | None = strawberry.field(
        description="The account (null when refused)."
    )
    user_errors: list[BankAccountSetAutopayUserError] = strawberry.field(
        description="Empty on success."
    )


def _changes(account: models.BankAccount, group: models.Group) -> dict[str, object]:
    """What the audit keeps of an account: never its numbers."""
    return {
        "group": group.group_number,
        "accountType": account.account_type.value,
        "accountLast4": account.account_last4,
        "routingLast4": account.routing_last4,
        "autopay": account.autopay,
    }


async def _managed_account(
    info: strawberry.Info, gid: relay.GlobalID, action: str
) -> tuple[models.BankAccount, models.Group]:
    """The visible active account ``gid`` names, once the caller may manage its group."""
    row = await bank_account_loader(info).load(pk_of(gid, "BankAccount"))
    group = None if row is None else await info.context.loaders.group.load(row.group_id)
    if row is None or group is None:
        raise RuleViolation([service.ACCOUNT_NOT_FOUND])
    ensure_manages_billing(info, group, action)
    return row, group


@strawberry.type
class BankAccountMutations:
    @strawberry.mutation(
        description="Store a bank account for a group to pay from by ACH (billing:write and, "
        "for a benefit leader, billing MANAGE on the group). At most 10 a group.",
        extensions=requires(BILLING_WRITE),
    )
    async def bank_account_add(
        self,
        info: strawberry.Info,
        input: Annotated[BankAccountAddInput, strawberry.argument(description="The account.")],
    ) -> BankAccountAddPayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            ensure_manages_billing(info, group, "bankAccount.add")
            row = await service.add_bank_account(
                ctx.session,
                group_id=group.id,
                new=input.to_service(),
                cipher=bank_cipher(info),
                user_id=ctx.principal.user_id,
            )
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(BankAccountAddUserError, BankAccountAddErrorCode, refused.problems)
            return BankAccountAddPayload(bank_account=None, user_errors=errors)
        await commit(
            info,
            "bankAccount.add",
            target_type="BankAccount",
            target_id=str(row.id),
            changes=_changes(row, group),
        )
        return BankAccountAddPayload(bank_account=BankAccount.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Remove a group's bank account (billing:write and, for a benefit leader, "
        "billing MANAGE); its autopay stops, and the payments it made keep their reference.",
        extensions=requires(BILLING_WRITE),
    )
    async def bank_account_remove(
        self,
        info: strawberry.Info,
        input: Annotated[BankAccountRemoveInput, strawberry.argument(description="The account.")],
    ) -> BankAccountRemovePayload:
        try:
            row, group = await _managed_account(info, input.bank_account_id, "bankAccount.remove")
            await service.remove_bank_account(info.context.session, account=row)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                BankAccountRemoveUserError, BankAccountRemoveErrorCode, refused.problems
            )
            return BankAccountRemovePayload(removed_bank_account_id=None, user_errors=errors)
        await commit(
            info,
            "bankAccount.remove",
            target_type="BankAccount",
            target_id=str(row.id),
            changes=_changes(row, group),
        )
        return BankAccountRemovePayload(
            removed_bank_account_id=relay.GlobalID("BankAccount", str(row.id)), user_errors=[]
        )

    @strawberry.mutation(
        description="Make a bank account the group's autopay account, or stop its autopay "
        "(billing:write and, for a benefit leader, billing MANAGE). A group has at most one.",
        extensions=requires(BILLING_WRITE),
    )
    async def bank_account_set_autopay(
        self,
        info: strawberry.Info,
        input: Annotated[
            BankAccountSetAutopayInput, strawberry.argument(description="Account and setting.")
        ],
    ) -> BankAccountSetAutopayPayload:
        try:
            row, group = await _managed_account(
                info, input.bank_account_id, "bankAccount.setAutopay"
            )
            await service.set_autopay(info.context.session, account=row, enabled=input.autopay)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                BankAccountSetAutopayUserError, BankAccountSetAutopayErrorCode, refused.problems
            )
            return BankAccountSetAutopayPayload(bank_account=None, user_errors=errors)
        await commit(
            info,
            "bankAccount.setAutopay",
            target_type="BankAccount",
            target_id=str(row.id),
            changes=_changes(row, group),
        )
        return BankAccountSetAutopayPayload(bank_account=BankAccount.from_row(row), user_errors=[])
