"""A group's account balance and aging in the API (SPEC §2 Billing: account ledger, aging),
computed by ``api.services.balances`` for every group of a page at once."""

from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry

from api.schema.money import Money
from api.services import balances as service
from api.services.dates import today


@strawberry.type(description="Open invoice money by days past due.")
class Aging:
    current: Money = strawberry.field(description="Open on invoices not yet past due.")
    days_1_to_30: Money = strawberry.field(description="Open 1 to 30 days past due.")
    days_31_to_60: Money = strawberry.field(description="Open 31 to 60 days past due.")
    days_61_to_90: Money = strawberry.field(description="Open 61 to 90 days past due.")
    days_91_plus: Money = strawberry.field(description="Open 91 days or more past due.")

    @classmethod
    def from_service(cls, aging: service.Aging) -> Self:
        return cls(
            current=Money.from_cents(aging.current),
            days_1_to_30=Money.from_cents(aging.days_1_to_30),
            days_31_to_60=Money.from_cents(aging.days_31_to_60),
            days_61_to_90=Money.from_cents(aging.days_61_to_90),
            days_91_plus=Money.from_cents(aging.days_91_plus),
        )


@strawberry.type(description="A group's account, derived from its receivables ledger.")
class GroupBalance:
    as_of: dt.date = strawberry.field(description="The day days past due are counted on.")
    total: Money = strawberry.field(
        description="Everything in the ledger: positive, the group owes; negative, the "
        "carrier owes the group (credit)."
    )
    past_due: Money = strawberry.field(description="Open on invoices whose due date passed.")
    credit: Money = strawberry.field(
        description="Payment money not applied to any invoice (later invoices consume it)."
    )
    aging: Aging = strawberry.field(description="Open invoice money by days past due.")
    paid_through_date: dt.date | None = strawberry.field(
        description="The last day of the last month whose invoice, and every earlier one, "
        "is fully paid; null when none is."
    )

    @classmethod
    def from_service(cls, balance: service.Balance, as_of: dt.date) -> Self:
        return cls(
            as_of=as_of,
            total=Money.from_cents(balance.total),
            past_due=Money.from_cents(balance.past_due),
            credit=Money.from_cents(balance.credit),
            aging=Aging.from_service(balance.aging),
            paid_through_date=balance.paid_through_date,
        )


async def group_balance(info: strawberry.Info, group_pk: int) -> GroupBalance | None:
    """``Group.balance``, one loader (three statements) for all the groups of a page."""
    balance = await info.context.loaders.balance.load(group_pk)
    return None if balance is None else GroupBalance.from_service(balance, today())
