"""Premium refunds, scoped to the caller's groups with billing access (filtered in SQL)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import Refund
from db.queries.scope import scoped


async def refunds_by_group(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int]
) -> dict[int, list[Refund]]:
    """Each group's refunds, newest first (a group has one per termination)."""
    stmt = scoped(select(Refund), principal, Refund.group_id, "billing")
    stmt = stmt.where(Refund.group_id.in_(group_ids)).order_by(Refund.id.desc())
    found: dict[int, list[Refund]] = defaultdict(list)
    for refund in await session.scalars(stmt):
        found[refund.group_id].append(refund)
    return found
