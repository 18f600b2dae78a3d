"""Small value objects shared by several types."""

from __future__ import annotations

import strawberry


@strawberry.type(description="A US postal address.")
class Address:
    line1: str = strawberry.field(description="Street address.")
    line2: str | None = strawberry.field(description="Suite, unit or building, if any.")
    city: str = strawberry.field(description="City.")
    state: str = strawberry.field(description="Two-letter state code.")
    postal_code: str = strawberry.field(description="ZIP or ZIP+4.")


def address_or_none(
    line1: str | None, line2: str | None, city: str | None, state: str | None, postal: str | None
) -> Address | None:
    """An ``Address`` when the required parts are present, else ``None``."""
    if not (line1 and city and state and postal):
        return None
    return Address(line1=line1, line2=line2, city=city, state=state, postal_code=postal)
