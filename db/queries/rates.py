"""The plan catalogue and groups' premium rate schedules, scoped to the caller's groups
(SPEC §3: `group:read` covers plans and rates)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import CoverageTier, Group, GroupPlan, Plan, RateSchedule, TierRate
from db.queries.paging import Page, PageRequest, PageRequestError, decode_cursor, finish_page
from db.queries.scope import scoped

TIER_ORDER = {tier: index for index, tier in enumerate(CoverageTier)}
NEWEST_FIRST = (RateSchedule.effective_from.desc(), RateSchedule.id.desc())


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    schedule: RateSchedule
    plan: Plan
    group_id: int


async def plan_catalogue(session: AsyncSession) -> list[Plan]:
    """Every plan, by code: the carrier's product list, not group data, so not scoped."""
    return list(await session.scalars(select(Plan).order_by(Plan.code)))


def _schedules(
    principal: Principal, columns: Sequence[Any], group_ids: Sequence[int], plan_code: str | None
) -> Select[Any]:
    stmt = scoped(
        select(*columns)
        .select_from(RateSchedule)
        .join(GroupPlan, GroupPlan.id == RateSchedule.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id),
        principal,
        GroupPlan.group_id,
    ).where(GroupPlan.group_id.in_(group_ids))
    if plan_code is not None:
        stmt = stmt.where(Plan.code == plan_code.strip().upper())
    return stmt


def _cursor_key(row: ScheduleRow) -> list[Any]:
    return [row.schedule.effective_from.isoformat(), row.schedule.id]


def _after(stmt: Select[Any], page: PageRequest) -> Select[Any]:
    """Rows after the cursor in newest-first order: ``(from, id) < (cursor from, id)``."""
    if page.after is None:
        return stmt
    day, schedule_id = decode_cursor(page.after, [str, int])
    try:
        start = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise PageRequestError("`after` is not a cursor returned by this API.") from exc
    return stmt.where(
        tuple_(RateSchedule.effective_from, RateSchedule.id) < tuple_(start, schedule_id)
    )


async def schedules_pages(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    plan_code: str | None,
    page: PageRequest,
) -> dict[int, Page[ScheduleRow]]:
    """The same page of each group's schedules (newest first), one statement in all: ranked
    per group with ``row_number() OVER (PARTITION BY group)``."""
    rank = func.row_number().over(partition_by=GroupPlan.group_id, order_by=NEWEST_FIRST)
    columns = [RateSchedule.id.label("schedule_id"), rank.label("page_rank")]
    ranked = _after(_schedules(principal, columns, group_ids, plan_code), page).subquery()
    stmt = (
        select(RateSchedule, Plan, GroupPlan.group_id)
        .join(ranked, ranked.c.schedule_id == RateSchedule.id)
        .join(GroupPlan, GroupPlan.id == RateSchedule.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(ranked.c.page_rank <= page.first + 1)
        .order_by(GroupPlan.group_id, ranked.c.page_rank)
    )
    rows: dict[int, list[ScheduleRow]] = defaultdict(list)
    for schedule, plan, group_id in await session.execute(stmt):
        rows[group_id].append(ScheduleRow(schedule=schedule, plan=plan, group_id=group_id))
    return {group: finish_page(found, page, _cursor_key) for group, found in rows.items()}


async def count_schedules(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    plan_code: str | None,
) -> dict[int, int]:
    """How many schedules each group has (of ``plan_code``, when given)."""
    columns = [GroupPlan.group_id, func.count()]
    stmt = _schedules(principal, columns, group_ids, plan_code).group_by(GroupPlan.group_id)
    rows = await session.execute(stmt)
    return dict(rows.all())


async def schedules_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, ScheduleRow]:
    stmt = scoped(
        select(RateSchedule, Plan, GroupPlan.group_id)
        .join(GroupPlan, GroupPlan.id == RateSchedule.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id),
        principal,
        GroupPlan.group_id,
    ).where(RateSchedule.id.in_(ids))
    return {
        schedule.id: ScheduleRow(schedule=schedule, plan=plan, group_id=group_id)
        for schedule, plan, group_id in await session.execute(stmt)
    }


async def tier_rates_by_schedule(
    session: AsyncSession, principal: Principal, schedule_ids: Sequence[int]
) -> dict[int, list[TierRate]]:
    """Each schedule's tier rates, in tier order (EMPLOYEE … FAMILY)."""
    stmt = scoped(
        select(TierRate)
        .join(RateSchedule, RateSchedule.id == TierRate.rate_schedule_id)
        .join(GroupPlan, GroupPlan.id == RateSchedule.group_plan_id),
        principal,
        GroupPlan.group_id,
    ).where(TierRate.rate_schedule_id.in_(schedule_ids))
    rates: dict[int, list[TierRate]] = defaultdict(list)
    for rate in await session.scalars(stmt):
        rates[rate.rate_schedule_id].append(rate)
    for found in rates.values():
        found.sort(key=lambda rate: TIER_ORDER[rate.tier])
    return rates


async def offered_group_plan_id(
    session: AsyncSession, principal: Principal, *, group_number: str, plan_code: str
) -> int | None:
    """The id of a visible group's offer of a plan, by business keys."""
    stmt = scoped(
        select(GroupPlan.id)
        .join(Group, Group.id == GroupPlan.group_id)
        .join(Plan, Plan.id == GroupPlan.plan_id),
        principal,
        GroupPlan.group_id,
    ).where(
        Group.group_number == group_number.strip().upper(),
        Plan.code == plan_code.strip().upper(),
    )
    return await session.scalar(stmt)
