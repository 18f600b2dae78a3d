"""Payments in the API (SPEC §2 Billing: payments): what a group paid, how, and whether it
came back. Invoices are ``api.schema.invoices``, balances ``api.schema.balances``; the
payment mutations live in ``api.schema.payments`` and return the ``Payment`` type here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.schema.connections import CountedConnection, build_connection
from api.schema.money import Money
from api.schema.nodes import load_nodes
from db import models
from db.models import PaymentMethod, PaymentStatus
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.groups import Group

strawberry.enum(
    PaymentMethod,
    description="ACH: bank transfer (online payments and autopay). CHECK and WIRE: "
    "recorded by a representative. CARD: payment card.",
)
strawberry.enum(
    PaymentStatus,
    description="APPLIED: counted, applied to open invoices oldest due first (any rest is "
    "unapplied credit). RETURNED: reversed (e.g. NSF); what it paid is open again.",
)

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]


@strawberry.type(description="Money received from a group.")
class Payment(relay.Node):
    pk: relay.NodeID[int]
    group_pk: strawberry.Private[int]
    amount: Money = strawberry.field(description="The amount received.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    received_date: dt.date = strawberry.field(description="The day the money was received.")
    reference: str | None = strawberry.field(
        description="The payer's reference: check number, wire or ACH trace."
    )
    status: PaymentStatus = strawberry.field(description="APPLIED or RETURNED.")
    returned_at: dt.datetime | None = strawberry.field(
        description="When it was reversed as returned (UTC)."
    )
    return_reason: str | None = strawberry.field(description="Why it came back, e.g. NSF.")

    @classmethod
    def from_row(cls, row: models.Payment) -> Self:
        return cls(
            pk=row.id, group_pk=row.group_id, amount=Money.from_cents(row.amount_cents),
            method=row.method, received_date=row.received_date, reference=row.reference,
            status=row.status, returned_at=row.returned_at, return_reason=row.return_reason,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.payment, cls.from_row)

    @strawberry.field(description="The group that paid.")
    async def group(self, info: strawberry.Info) -> GroupRef | None:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        return None if row is None else Group.from_row(row)


@strawberry.type(description="A page of a group's payments, newest received first.")
class PaymentConnection(CountedConnection[Payment]):
    pass


async def group_payments(
    info: strawberry.Info, *, group_pk: int, first: int, after: str | None
) -> PaymentConnection:
    """``Group.payments``, batched across the groups of a page."""
    loaders = info.context.loaders
    page = await loaders.payment_pages(PageRequest(first, after)).load(group_pk)

    async def count() -> int:
        return int(await loaders.payment_counts().load(group_pk))

    return build_connection(PaymentConnection, page, Payment.from_row, count)
