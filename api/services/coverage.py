"""Coverage rules shared by every writer of coverage (SPEC §2 Members and coverage)."""

from __future__ import annotations

from collections.abc import Iterable

from db.models import CoverageTier, Relationship

_PARTNERS = frozenset({Relationship.SPOUSE, Relationship.DOMESTIC_PARTNER})


def tier_for(*, covered_dependents: Iterable[Relationship]) -> CoverageTier:
    """The tier is derived from the covered dependents: none -> EMPLOYEE; spouse/partner
    only -> EMPLOYEE_SPOUSE; children only -> EMPLOYEE_CHILDREN; both -> FAMILY."""
    relationships = set(covered_dependents)
    partner = bool(relationships & _PARTNERS)
    children = Relationship.CHILD in relationships
    if partner and children:
        return CoverageTier.FAMILY
    if partner:
        return CoverageTier.EMPLOYEE_SPOUSE
    return CoverageTier.EMPLOYEE_CHILDREN if children else CoverageTier.EMPLOYEE
