"""Money arithmetic in one place: integer cents in storage, ``Decimal`` at the edges.

SPEC §2 Premium rates: money is exact, never a float. Amounts are stored as integer
cents; conversion to and from ``Decimal`` happens only here, rounding half-up to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCY = "USD"
_CENT = Decimal("0.01")


def cents_to_decimal(cents: int) -> Decimal:
    """``12345`` -> ``Decimal('123.45')``."""
    return (Decimal(cents) / 100).quantize(_CENT)


def decimal_to_cents(amount: Decimal | str) -> int:
    """``Decimal('123.455')`` -> ``12346`` (half-up). Rejects floats and non-numbers."""
    if isinstance(amount, float):
        raise TypeError("money is never a float; pass a Decimal or a string")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not an amount of money") from exc
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not an amount of money")
    return int(value.quantize(_CENT, rounding=ROUND_HALF_UP) * 100)


def format_usd(cents: int) -> str:
    """``-123456`` -> ``'-$1,234.56'``: amounts in plain-English explanations."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${cents_to_decimal(abs(cents)):,}"
