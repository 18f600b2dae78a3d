"""Row scoping in one place: which groups' rows a principal may see (SPEC §3).

Group rows are visible to internal callers and to leaders granted the group. Rows of an
area (members: ``eligibility``) further need the area's read scope and, for a leader, at
least VIEW access to that area in the row's group. Everything is a SQL condition.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, true
from sqlalchemy.orm import QueryableAttribute

from api.auth.principal import Principal
from db.models import AccessLevel

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def visible_group_ids(principal: Principal, area: str | None) -> frozenset[int] | None:
    """``None`` for every group; otherwise the groups whose rows (of ``area``) are visible."""
    if area is not None and not principal.has_scope(f"{area}:read"):
        return frozenset()
    if principal.internal:
        return None
    return frozenset(
        group_id
        for group_id, grant in principal.grants.items()
        if area is None or grant.level(area).allows(AccessLevel.VIEW)
    )


def group_visible(
    principal: Principal, group_id: QueryableAttribute[int], area: str | None = None
) -> ColumnElement[bool]:
    """SQL condition: the row's group is one the principal may see."""
    visible = visible_group_ids(principal, area)
    if visible is None:
        return true()
    if not visible:
        return false()
    return group_id.in_(sorted(visible))


def scoped(
    stmt: S, principal: Principal, group_id: QueryableAttribute[int], area: str | None = None
) -> S:
    """``stmt`` restricted to the principal's groups, filtered in SQL."""
    if visible_group_ids(principal, area) is None:
        return stmt
    return stmt.where(group_visible(principal, group_id, area))
