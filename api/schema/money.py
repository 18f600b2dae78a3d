"""Money in the API (CONVENTIONS §2.4): an exact ``Decimal`` amount with its currency."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Self

import strawberry

from api.services.money import CURRENCY, cents_to_decimal


@strawberry.enum(description="ISO 4217 currency code.")
class CurrencyCode(enum.Enum):
    USD = strawberry.enum_value("USD", description="United States dollar.")


@strawberry.type(description="An exact amount of money (never a float).")
class Money:
    amount: Decimal = strawberry.field(
        description="The amount in the currency's major unit, exact to the cent and "
        'serialized as a string, e.g. `"123.45"`.'
    )
    currency: CurrencyCode = strawberry.field(description="The currency of `amount`.")

    @classmethod
    def from_cents(cls, cents: int) -> Self:
        """Integer cents as stored (``12345``) -> ``123.45 USD``."""
        return cls(amount=cents_to_decimal(cents), currency=CurrencyCode[CURRENCY])
