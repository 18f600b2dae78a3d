"""Row scoping in one place: which groups' rows a principal may see (SPEC §3)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false
from sqlalchemy.orm import QueryableAttribute

from api.auth.principal import Principal

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def group_visible(principal: Principal, group_id: QueryableAttribute[int]) -> ColumnElement[bool]:
    """SQL condition: the row's group is one the principal may see."""
    if principal.group_ids is None:
        return group_id.is_not(None)
    if not principal.group_ids:
        return false()
    return group_id.in_(sorted(principal.group_ids))


def scoped(stmt: S, principal: Principal, group_id: QueryableAttribute[int]) -> S:
    """``stmt`` restricted to the principal's groups, filtered in SQL."""
    if principal.group_ids is None:
        return stmt
    return stmt.where(group_visible(principal, group_id))
