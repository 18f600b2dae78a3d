"""A group's stored bank accounts in the API: last four digits only, never the numbers
(SPEC §2 Billing: payments)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Self

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from api.schema.nodes import load_nodes
from db import models
from db.models import BankAccountType

strawberry.enum(BankAccountType, description="CHECKING or SAVINGS.")


@strawberry.type(
    description="A bank account a group pays from by ACH. The routing and account numbers "
    "are stored encrypted and never returned: only their last four digits."
)
class BankAccount(relay.Node):
    pk: relay.NodeID[int]
    holder_name: str = strawberry.field(description="The name on the account.")
    account_type: BankAccountType = strawberry.field(description="CHECKING or SAVINGS.")
    account_last4: str = strawberry.field(description="Last four digits of the account number.")
    routing_last4: str = strawberry.field(description="Last four digits of the routing number.")
    autopay: bool = strawberry.field(
        description="Whether each issued invoice is paid from this account automatically "
        "(at most one account of a group)."
    )
    added_at: dt.datetime = strawberry.field(description="When the account was added (UTC).")

    @classmethod
    def from_row(cls, row: models.BankAccount) -> Self:
        return cls(
            pk=row.id,
            holder_name=row.holder_name,
            account_type=row.account_type,
            account_last4=row.account_last4,
            routing_last4=row.routing_last4,
            autopay=row.autopay,
            added_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, bank_account_loader(info), cls.from_row)


def bank_account_loader(info: strawberry.Info) -> DataLoader[int, models.BankAccount | None]:
    """Account id -> the active account, scoped to billing (one statement per request)."""
    loader: DataLoader[int, models.BankAccount | None] = info.context.loaders.bank_account
    return loader


async def group_bank_accounts(info: strawberry.Info, group_pk: int) -> list[BankAccount]:
    """``Group.bankAccounts``: the group's active accounts, batched across a page of groups."""
    rows = await info.context.loaders.group_bank_accounts.load(group_pk)
    return [BankAccount.from_row(row) for row in rows]
