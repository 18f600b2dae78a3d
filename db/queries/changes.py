"""Eligibility change items, scoped to the caller's groups in SQL (SPEC §3)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import ChangeItem, ChangeStatus, Group
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped

_BY_ID = Keyset(ChangeItem, (ChangeItem.id,), lambda row: [row.id], name="id")
_NEWEST_FIRST = Keyset(
    ChangeItem, (ChangeItem.id,), lambda row: [row.id], descending=True, name="newest"
)


async def changes_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> list[ChangeItem]:
    """The items of ``ids`` the caller may see (eligibility read on the item's group)."""
    stmt = select(ChangeItem).where(ChangeItem.id.in_(ids))
    return list(await session.scalars(scoped(stmt, principal, ChangeItem.group_id, "eligibility")))


def _pending(principal: Principal, group_number: str | None) -> Select[ChangeItem]:
    stmt = select(ChangeItem).where(ChangeItem.status == ChangeStatus.PENDING_REVIEW)
    if group_number is not None:
        group = select(Group.id).where(Group.group_number == group_number)
        stmt = stmt.where(ChangeItem.group_id.in_(group.scalar_subquery()))
    return scoped(stmt, principal, ChangeItem.group_id, "eligibility")


async def review_queue(
    session: AsyncSession, principal: Principal, page: PageRequest, group_number: str | None
) -> Page[ChangeItem]:
    """PENDING_REVIEW items, oldest first, optionally of one group."""
    return await fetch_page(session, _pending(principal, group_number), _BY_ID, page)


async def review_queue_count(
    session: AsyncSession, principal: Principal, group_number: str | None
) -> int:
    stmt = select(func.count()).select_from(_pending(principal, group_number).subquery())
    return int(await session.scalar(stmt) or 0)


async def group_changes_pages(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    statuses: Sequence[ChangeStatus] | None,
    page: PageRequest,
) -> dict[int, Page[ChangeItem]]:
    """The same page of each group's change items (newest first), one statement in all."""
    stmt = _of_groups(principal, group_ids, statuses)
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, _NEWEST_FIRST, page)}
    return await fetch_pages(session, stmt, _NEWEST_FIRST, page, ChangeItem.group_id)


async def count_group_changes(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    statuses: Sequence[ChangeStatus] | None,
) -> dict[int, int]:
    """How many items each group's ``group_changes_pages`` pages through."""
    stmt = (
        _of_groups(principal, group_ids, statuses)
        .with_only_columns(ChangeItem.group_id, func.count())
        .group_by(ChangeItem.group_id)
    )
    return dict((await session.execute(stmt)).all())


def _of_groups(
    principal: Principal, group_ids: Sequence[int], statuses: Sequence[ChangeStatus] | None
) -> Select[ChangeItem]:
    stmt = select(ChangeItem).where(ChangeItem.group_id.in_(group_ids))
    if statuses:
        stmt = stmt.where(ChangeItem.status.in_(list(statuses)))
    return scoped(stmt, principal, ChangeItem.group_id, "eligibility")
