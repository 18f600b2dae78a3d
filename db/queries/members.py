"""Member and coverage queries, scoped to the caller's groups."""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from api.auth.policy import ELIGIBILITY_READ
from api.auth.principal import Principal
from db.models import (
    Coverage,
    CoverageTier,
    Group,
    GroupPlan,
    Member,
    MemberStatus,
    Plan,
    Relationship,
)
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped

# Members are the eligibility area's rows (SPEC §3: eligibility:read covers member PHI).
ELIGIBILITY = "eligibility"
SSN_LAST4_LENGTH = 4


class MemberSort(enum.StrEnum):
    """Roster orders; every one ends on a unique key so keyset pages never skip or repeat."""

    NAME = "NAME"
    MEMBER_ID = "MEMBER_ID"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"


@dataclass(frozen=True, slots=True)
class MemberOrder:
    sort: MemberSort = MemberSort.NAME
    descending: bool = False


@dataclass(frozen=True, slots=True)
class MemberFilter:
    """All conditions must hold.

    ``search``: words match first or last name prefixes; digits match a member ID prefix
    and, when ``ssn_search`` is set and the term is exactly 4 digits, the SSN's last 4.
    ``ssn_search`` is for callers who may see ``ssnLast4`` (anyone who may read the roster:
    reps, internal systems and leaders with eligibility access; see ``ssn_searchable``).
    ``plan_codes`` and ``tiers`` apply to the span in force on ``covered_on``; with
    ``covered_on`` alone, members with any span covering that day match.
    """

    search: str | None = None
    statuses: tuple[MemberStatus, ...] | None = None
    relationships: tuple[Relationship, ...] | None = None
    plan_codes: tuple[str, ...] | None = None
    tiers: tuple[CoverageTier, ...] | None = None
    covered_on: dt.date | None = None
    ssn_search: bool = False


@dataclass(frozen=True, slots=True)
class CoverageRow:
    coverage: Coverage
    plan: Plan

    @property
    def effective_date(self) -> dt.date:
        return self.coverage.effective_date

    @property
    def termination_date(self) -> dt.date | None:
        return self.coverage.termination_date


def ssn_searchable(principal: Principal) -> bool:
    """Searching by the SSN's last 4 reveals it, so only callers who may read member PHI
    (``eligibility:read``; row scoping then limits a leader to their groups) may do it."""
    return principal.has_scope(ELIGIBILITY_READ)


def roster_statement(
    principal: Principal, group_ids: Sequence[int], flt: MemberFilter
) -> Select[Member]:
    """The members of ``group_ids`` matching ``flt`` that the principal may see (no order)."""
    stmt = scoped(select(Member), principal, Member.group_id, ELIGIBILITY).where(
        Member.group_id.in_(group_ids)
    )
    if flt.search and flt.search.strip():
        stmt = stmt.where(_search_clause(flt.search.strip(), ssn=flt.ssn_search))
    if flt.statuses:
        stmt = stmt.where(Member.status.in_(flt.statuses))
    if flt.relationships:
        stmt = stmt.where(Member.relationship.in_(flt.relationships))
    if flt.covered_on is not None:
        stmt = stmt.where(_covered_clause(flt))
    return stmt


def _search_clause(term: str, *, ssn: bool) -> ColumnElement[bool]:
    if term.isdigit():
        by_id = Member.member_id.startswith(term, autoescape=True)
        if ssn and len(term) == SSN_LAST4_LENGTH:
            return or_(by_id, Member.ssn_last4 == term)
        return by_id
    return and_(
        *(
            or_(
                func.lower(Member.first_name).startswith(word, autoescape=True),
                func.lower(Member.last_name).startswith(word, autoescape=True),
            )
            for word in term.lower().split()
        )
    )


def in_force(day: dt.date, span: type[Coverage] = Coverage) -> ColumnElement[bool]:
    """SQL condition: the coverage span covers ``day`` (both ends included)."""
    return and_(
        span.effective_date <= day,
        or_(span.termination_date.is_(None), span.termination_date >= day),
    )


def _covered_clause(flt: MemberFilter) -> ColumnElement[bool]:
    """EXISTS a span of the member in force on ``covered_on`` (of the plans and tiers).
    Aliased, so it stays correlated to the member alone when the outer query joins spans."""
    assert flt.covered_on is not None
    span = aliased(Coverage)
    spans = select(span.id).where(span.member_id == Member.id, in_force(flt.covered_on, span))
    if flt.tiers:
        spans = spans.where(span.tier.in_(flt.tiers))
    if flt.plan_codes:
        spans = (
            spans.join(GroupPlan, GroupPlan.id == span.group_plan_id)
            .join(Plan, Plan.id == GroupPlan.plan_id)
            .where(Plan.code.in_(flt.plan_codes))
        )
    return spans.correlate(Member).exists()


_SORT_COLUMNS: dict[MemberSort, tuple[QueryableAttribute[Any], ...]] = {
    MemberSort.NAME: (Member.last_name, Member.first_name, Member.id),
    MemberSort.MEMBER_ID: (Member.member_id,),
    MemberSort.DATE_OF_BIRTH: (Member.date_of_birth, Member.id),
}


def _keyset(sort: MemberSort, *, descending: bool) -> Keyset[Member]:
    columns = _SORT_COLUMNS[sort]
    return Keyset(
        entity=Member,
        columns=columns,
        key_of=lambda member: [getattr(member, column.key) for column in columns],
        descending=descending,
        name=f"members:{sort}:{'desc' if descending else 'asc'}",
    )


ORDERS = {
    MemberOrder(sort, descending): _keyset(sort, descending=descending)
    for sort in MemberSort
    for descending in (False, True)
}
ROSTER_ORDER = ORDERS[MemberOrder()]


async def members_pages(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    flt: MemberFilter,
    page: PageRequest,
    order: MemberOrder = MemberOrder(),
) -> dict[int, Page[Member]]:
    """A page of each group's members in ``order`` (default: by name); one statement."""
    stmt = roster_statement(principal, group_ids, flt)
    keyset = ORDERS[order]
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, keyset, page)}
    return await fetch_pages(session, stmt, keyset, page, Member.group_id)


async def count_members(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int], flt: MemberFilter
) -> dict[int, int]:
    """How many members of each group match ``flt``."""
    stmt = (
        roster_statement(principal, group_ids, flt)
        .with_only_columns(Member.group_id, func.count())
        .group_by(Member.group_id)
    )
    rows = await session.execute(stmt)
    return dict(rows.all())


async def members_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Member]:
    stmt = scoped(select(Member), principal, Member.group_id, ELIGIBILITY).where(Member.id.in_(ids))
    return {member.id: member for member in await session.scalars(stmt)}


async def dependents_by_subscriber(
    session: AsyncSession, principal: Principal, subscriber_ids: Sequence[int]
) -> dict[int, list[Member]]:
    """Each subscriber's dependents in member-ID order (spouse first, then children)."""
    stmt = (
        scoped(select(Member), principal, Member.group_id, ELIGIBILITY)
        .where(Member.subscriber_id.in_(subscriber_ids))
        .order_by(Member.member_id)
    )
    dependents: dict[int, list[Member]] = defaultdict(list)
    for member in await session.scalars(stmt):
        assert member.subscriber_id is not None  # guaranteed by the WHERE clause
        dependents[member.subscriber_id].append(member)
    return dependents


async def coverages_by_member(
    session: AsyncSession, principal: Principal, member_ids: Sequence[int]
) -> dict[int, list[CoverageRow]]:
    """Each member's coverage spans with their plan, oldest first."""
    stmt = (
        scoped(
            select(Coverage, Plan)
            .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
            .join(Plan, Plan.id == GroupPlan.plan_id),
            principal,
            GroupPlan.group_id,
            ELIGIBILITY,
        )
        .where(Coverage.member_id.in_(member_ids))
        .order_by(Coverage.member_id, Coverage.effective_date)
    )
    spans: dict[int, list[CoverageRow]] = defaultdict(list)
    for coverage, plan in await session.execute(stmt):
        spans[coverage.member_id].append(CoverageRow(coverage=coverage, plan=plan))
    return spans


async def member_with_group(
    session: AsyncSession, principal: Principal, member_id: str
) -> tuple[Member, Group] | None:
    """The member with this carrier member ID and their group; ``None`` when there is none
    or it is not visible (another group's member is indistinguishable from none)."""
    stmt = scoped(
        select(Member, Group).join(Group, Group.id == Member.group_id),
        principal,
        Member.group_id,
        ELIGIBILITY,
    ).where(Member.member_id == member_id.strip())
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])
