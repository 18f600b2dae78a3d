"""Counts beside the change-item pages of ``db.queries.changes`` (same scoping, in SQL)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import ChangeItem, ChangeStatus
from db.queries.scope import scoped


async def group_changes_count(
    session: AsyncSession,
    principal: Principal,
    group_id: int,
    statuses: Sequence[ChangeStatus] | None,
) -> int:
    """How many items ``group_changes`` pages through."""
    stmt = select(func.count(ChangeItem.id)).where(ChangeItem.group_id == group_id)
    if statuses:
        stmt = stmt.where(ChangeItem.status.in_(list(statuses)))
    stmt = scoped(stmt, principal, ChangeItem.group_id, "eligibility")
    return int(await session.scalar(stmt) or 0)
