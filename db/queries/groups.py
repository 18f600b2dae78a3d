"""Group queries, scoped to the caller's groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import BillingMode, Group, GroupPlan, GroupStatus, Plan
from db.queries.paging import Keyset, Page, PageRequest, fetch_page
from db.queries.scope import scoped


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """``search`` matches a group number prefix or any part of the name."""

    search: str | None = None
    statuses: Sequence[GroupStatus] | None = None
    billing_modes: Sequence[BillingMode] | None = None


GROUP_NUMBER_ORDER = Keyset(
    entity=Group, columns=(Group.group_number,), key_of=lambda group: [group.group_number]
)


def _filtered(principal: Principal, flt: GroupFilter) -> Select[Group]:
    stmt = scoped(select(Group), principal, Group.id)
    if flt.search and flt.search.strip():
        stmt = stmt.where(group_search_clause(flt.search.strip()))
    if flt.statuses:
        stmt = stmt.where(Group.status.in_(flt.statuses))
    if flt.billing_modes:
        stmt = stmt.where(Group.billing_mode.in_(flt.billing_modes))
    return stmt


def group_search_clause(term: str) -> ColumnElement[bool]:
    return or_(
        Group.group_number.startswith(term.upper(), autoescape=True),
        func.lower(Group.name).contains(term.lower(), autoescape=True),
    )


async def groups_page(
    session: AsyncSession, principal: Principal, *, flt: GroupFilter, page: PageRequest
) -> Page[Group]:
    """Groups ordered by group number."""
    return await fetch_page(session, _filtered(principal, flt), GROUP_NUMBER_ORDER, page)


async def count_groups(session: AsyncSession, principal: Principal, *, flt: GroupFilter) -> int:
    stmt = select(func.count()).select_from(_filtered(principal, flt).subquery())
    return (await session.scalar(stmt)) or 0


async def group_by_number(
    session: AsyncSession, principal: Principal, group_number: str
) -> Group | None:
    stmt = scoped(select(Group), principal, Group.id).where(
        Group.group_number == group_number.strip().upper()
    )
    return await session.scalar(stmt)


async def groups_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Group]:
    stmt = scoped(select(Group), principal, Group.id).where(Group.id.in_(ids))
    return {group.id: group for group in await session.scalars(stmt)}


async def plans_by_group(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int]
) -> dict[int, list[Plan]]:
    """The plans each group offers, by plan code."""
    stmt = (
        scoped(
            select(GroupPlan.group_id, Plan).join(Plan, Plan.id == GroupPlan.plan_id),
            principal,
            GroupPlan.group_id,
        )
        .where(GroupPlan.group_id.in_(group_ids))
        .order_by(Plan.code)
    )
    offered: dict[int, list[Plan]] = defaultdict(list)
    for group_id, plan in await session.execute(stmt):
        offered[group_id].append(plan)
    return offered


async def plans_by_ids(
    session: AsyncSession, _principal: Principal, ids: Sequence[int]
) -> dict[int, Plan]:
    """The plan catalogue is the carrier's product list, not group data: not scoped."""
    return {plan.id: plan for plan in await session.scalars(select(Plan).where(Plan.id.in_(ids)))}
