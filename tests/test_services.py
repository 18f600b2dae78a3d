"""Pure rules: money and SSNs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.services.coverage import tier_for
from api.services.money import cents_to_decimal, decimal_to_cents
from api.services.ssn import InvalidSSNError, normalize_ssn, ssn_hash, ssn_last4
from db.models import CoverageTier, Relationship


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_cents_round_trip_exactly(cents: int) -> None:
    assert decimal_to_cents(cents_to_decimal(cents)) == cents


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("0.005", 1), ("0.004", 0), ("-0.005", -1), ("123.455", 12346), ("10", 1000)],
)
def test_decimal_to_cents_rounds_half_up(amount: str, cents: int) -> None:
    assert decimal_to_cents(Decimal(amount)) == cents


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_decimal_to_cents_refuses_non_numbers(bad: str) -> None:
    with pytest.raises(ValueError, match="not an amount of money"):
        decimal_to_cents(bad)


def test_money_is_never_a_float() -> None:
    with pytest.raises(TypeError, match="never a float"):
        decimal_to_cents(0.1)  # type: ignore[arg-type]


def test_ssn_hash_is_keyed_and_format_blind() -> None:
    assert ssn_hash(key="a", ssn="123-45-6789") == ssn_hash(key="a", ssn="123456789")
    assert ssn_hash(key="a", ssn="123-45-6789") != ssn_hash(key="b", ssn="123-45-6789")
    assert "123456789" not in ssn_hash(key="a", ssn="123456789")
    assert ssn_last4("123-45-6789") == "6789"


@pytest.mark.parametrize(
    "bad", ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "12345678"]
)
def test_unissuable_ssns_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSSNError):
        normalize_ssn(bad)


@pytest.mark.parametrize(
    ("dependents", "tier"),
    [
        ([], CoverageTier.EMPLOYEE),
        ([Relationship.SPOUSE], CoverageTier.EMPLOYEE_SPOUSE),
        ([Relationship.DOMESTIC_PARTNER], CoverageTier.EMPLOYEE_SPOUSE),
        ([Relationship.CHILD, Relationship.CHILD], CoverageTier.EMPLOYEE_CHILDREN),
        ([Relationship.CHILD, Relationship.SPOUSE], CoverageTier.FAMILY),
        ([Relationship.DOMESTIC_PARTNER, Relationship.CHILD], CoverageTier.FAMILY),
    ],
)
def test_tier_is_derived_from_covered_dependents(
    dependents: list[Relationship], tier: CoverageTier
) -> None:
    assert tier_for(covered_dependents=dependents) == tier
