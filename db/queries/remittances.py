"""Remittances as the API reads them, scoped to the caller's groups in SQL (area
``billing``: SPEC §3, ``billing:read`` and, for a benefit leader, billing VIEW of the
group). Another group's remittance is indistinguishable from none. (These are the
``db/queries`` kind of function; they live beside the service that owns the tables.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import Remittance, RemittanceDifference, RemittanceLine, RemittanceStatus
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped

AREA = "billing"
NEWEST_MONTH_FIRST = Keyset(
    Remittance,
    (Remittance.month, Remittance.id),
    lambda row: [row.month.isoformat(), row.id],
    descending=True,
    name="month",
)
OLDEST_FIRST = Keyset(Remittance, (Remittance.id,), lambda row: [row.id], name="queue")


def _remittances(principal: Principal) -> Select[Remittance]:
    return scoped(select(Remittance), principal, Remittance.group_id, AREA)


async def remittances_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Remittance]:
    stmt = _remittances(principal).where(Remittance.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def superseding(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Remittance]:
    """Superseded remittance id -> the submission that replaced it."""
    stmt = _remittances(principal).where(Remittance.supersedes_id.in_(ids))
    return {int(row.supersedes_id or 0): row for row in await session.scalars(stmt)}


async def remittance_pages(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Remittance]]:
    """The same page of each group's remittances, newest month first, in one statement."""
    stmt = _remittances(principal).where(Remittance.group_id.in_(group_ids))
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, NEWEST_MONTH_FIRST, page)}
    return await fetch_pages(session, stmt, NEWEST_MONTH_FIRST, page, Remittance.group_id)


async def count_remittances(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int]
) -> dict[int, int]:
    stmt = (
        _remittances(principal)
        .where(Remittance.group_id.in_(group_ids))
        .with_only_columns(Remittance.group_id, func.count())
        .group_by(Remittance.group_id)
    )
    return {int(pk): int(n) for pk, n in await session.execute(stmt)}


def _exceptions(principal: Principal) -> Select[Remittance]:
    return _remittances(principal).where(Remittance.status == RemittanceStatus.EXCEPTION)


async def exceptions_page(
    session: AsyncSession, principal: Principal, page: PageRequest
) -> Page[Remittance]:
    """The exception queue, oldest first."""
    return await fetch_page(session, _exceptions(principal), OLDEST_FIRST, page)


async def count_exceptions(session: AsyncSession, principal: Principal) -> int:
    stmt = _exceptions(principal).with_only_columns(func.count())
    return int(await session.scalar(stmt) or 0)


async def lines_by_remittance(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, list[RemittanceLine]]:
    """Each visible remittance's roster lines, in roster order."""
    stmt = scoped(
        select(RemittanceLine).join(Remittance, Remittance.id == RemittanceLine.remittance_id),
        principal, Remittance.group_id, AREA,
    ).where(RemittanceLine.remittance_id.in_(ids))  # fmt: skip
    found: dict[int, list[RemittanceLine]] = defaultdict(list)
    for row in await session.scalars(stmt.order_by(RemittanceLine.position)):
        found[row.remittance_id].append(row)
    return found


async def differences_by_remittance(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, list[RemittanceDifference]]:
    """Each visible remittance's differences from eligibility, in their order."""
    stmt = scoped(
        select(RemittanceDifference).join(
            Remittance, Remittance.id == RemittanceDifference.remittance_id
        ),
        principal, Remittance.group_id, AREA,
    ).where(RemittanceDifference.remittance_id.in_(ids))  # fmt: skip
    found: dict[int, list[RemittanceDifference]] = defaultdict(list)
    for row in await session.scalars(stmt.order_by(RemittanceDifference.position)):
        found[row.remittance_id].append(row)
    return found
