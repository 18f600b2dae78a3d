"""ID-card request queries and the members a caller may change, scoped to the caller's
groups in SQL (SPEC §3; area ``eligibility``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import Coverage, Group, GroupPlan, Member, Plan
from db.models.eligibility import IdCardRequest
from db.models.enums import AccessLevel, IdCardStatus
from db.queries.members import ELIGIBILITY
from db.queries.paging import Keyset, Page, PageRequest, fetch_page
from db.queries.scope import scoped


def managed_group_ids(principal: Principal) -> frozenset[int] | None:
    """``None`` for every group; else the groups where the caller may change eligibility."""
    if not principal.has_scope(f"{ELIGIBILITY}:write"):
        return frozenset()
    if principal.internal:
        return None
    return frozenset(
        group_id
        for group_id, grant in principal.grants.items()
        if grant.eligibility.allows(AccessLevel.MANAGE)
    )


async def managed_members(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Member]:
    """The members among ``ids`` whose eligibility the caller may change (MANAGE or rep)."""
    stmt = select(Member).where(Member.id.in_(ids))
    groups = managed_group_ids(principal)
    if groups is not None:
        stmt = stmt.where(Member.group_id.in_(sorted(groups)))
    return {member.id: member for member in await session.scalars(stmt)}


def _visible_requests(principal: Principal) -> Select[IdCardRequest]:
    return scoped(
        select(IdCardRequest).join(Member, Member.id == IdCardRequest.member_id),
        principal,
        Member.group_id,
        ELIGIBILITY,
    )


async def id_card_requests_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, IdCardRequest]:
    stmt = _visible_requests(principal).where(IdCardRequest.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def id_card_requests_by_member(
    session: AsyncSession, principal: Principal, member_ids: Sequence[int]
) -> dict[int, list[IdCardRequest]]:
    """Each member's card requests, newest first."""
    stmt = (
        _visible_requests(principal)
        .where(IdCardRequest.member_id.in_(member_ids))
        .order_by(IdCardRequest.requested_at.desc(), IdCardRequest.id.desc())
    )
    found: dict[int, list[IdCardRequest]] = defaultdict(list)
    for row in await session.scalars(stmt):
        found[row.member_id].append(row)
    return found


@dataclass(frozen=True, slots=True)
class IdCardRequestFilter:
    """``breached_on``: only requests not mailed and due before that day."""

    group_number: str | None = None
    breached_on: dt.date | None = None


def _filtered(principal: Principal, flt: IdCardRequestFilter) -> Select[IdCardRequest]:
    stmt = _visible_requests(principal)
    if flt.group_number is not None:
        stmt = stmt.join(Group, Group.id == Member.group_id).where(
            Group.group_number == flt.group_number
        )
    if flt.breached_on is not None:
        stmt = stmt.where(
            IdCardRequest.status != IdCardStatus.MAILED, IdCardRequest.due_on < flt.breached_on
        )
    return stmt


# Requests are numbered in request order, so their due dates follow the same order.
OLDEST_FIRST = Keyset(entity=IdCardRequest, columns=(IdCardRequest.id,), key_of=lambda r: [r.id])


async def id_card_requests_page(
    session: AsyncSession, principal: Principal, *, flt: IdCardRequestFilter, page: PageRequest
) -> Page[IdCardRequest]:
    """A page of requests, oldest (earliest due) first."""
    return await fetch_page(session, _filtered(principal, flt), OLDEST_FIRST, page)


async def count_id_card_requests(
    session: AsyncSession, principal: Principal, *, flt: IdCardRequestFilter
) -> int:
    stmt = _filtered(principal, flt).with_only_columns(func.count())
    return int(await session.scalar(stmt) or 0)


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What a digital ID card shows: the member, their group and current coverage."""

    member: Member
    group: Group
    plan: Plan | None
    coverage: Coverage | None


async def card_details(
    session: AsyncSession, principal: Principal, member_id: str, on: dt.date
) -> CardDetails | None:
    """The card of the member with carrier ID ``member_id``; ``None`` when not visible."""
    stmt = scoped(
        select(Member, Group).join(Group, Group.id == Member.group_id),
        principal,
        Member.group_id,
        ELIGIBILITY,
    ).where(Member.member_id == member_id)
    found = (await session.execute(stmt)).first()
    if found is None:
        return None
    member, group = found
    coverage, plan = await _current_coverage(session, member.id, on)
    return CardDetails(member=member, group=group, plan=plan, coverage=coverage)


async def _current_coverage(
    session: AsyncSession, member_pk: int, on: dt.date
) -> tuple[Coverage | None, Plan | None]:
    """The span covering ``on``, else the latest span, with its plan."""
    stmt = (
        select(Coverage, Plan)
        .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(Coverage.member_id == member_pk)
        .order_by((Coverage.effective_date <= on).desc(), Coverage.effective_date.desc())
    )
    row = (await session.execute(stmt.limit(1))).first()
    return (None, None) if row is None else (row[0], row[1])
