"""Member and coverage queries, scoped to the caller's groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import Coverage, GroupPlan, Member, MemberStatus, Plan, Relationship
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped

# Members are the eligibility area's rows (SPEC §3: eligibility:read covers member PHI).
ELIGIBILITY = "eligibility"


@dataclass(frozen=True, slots=True)
class MemberFilter:
    """``search``: digits match a member ID prefix; words match first or last name prefixes."""

    search: str | None = None
    statuses: tuple[MemberStatus, ...] | None = None
    relationships: tuple[Relationship, ...] | None = None


@dataclass(frozen=True, slots=True)
class CoverageRow:
    coverage: Coverage
    plan: Plan


def _roster(principal: Principal, group_ids: Sequence[int], flt: MemberFilter) -> Select[Member]:
    stmt = scoped(select(Member), principal, Member.group_id, ELIGIBILITY).where(
        Member.group_id.in_(group_ids)
    )
    if flt.search and flt.search.strip():
        stmt = stmt.where(_search_clause(flt.search.strip()))
    if flt.statuses:
        stmt = stmt.where(Member.status.in_(flt.statuses))
    if flt.relationships:
        stmt = stmt.where(Member.relationship.in_(flt.relationships))
    return stmt


def _search_clause(term: str) -> ColumnElement[bool]:
    if term.isdigit():
        return Member.member_id.startswith(term, autoescape=True)
    return and_(
        *(
            or_(
                func.lower(Member.first_name).startswith(word, autoescape=True),
                func.lower(Member.last_name).startswith(word, autoescape=True),
            )
            for word in term.lower().split()
        )
    )


ROSTER_ORDER = Keyset(
    entity=Member,
    columns=(Member.last_name, Member.first_name, Member.id),
    key_of=lambda member: [member.last_name, member.first_name, member.id],
)


async def members_pages(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    flt: MemberFilter,
    page: PageRequest,
) -> dict[int, Page[Member]]:
    """A page of each group's members by last name, first name; one statement in all."""
    stmt = _roster(principal, group_ids, flt)
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, ROSTER_ORDER, page)}
    return await fetch_pages(session, stmt, ROSTER_ORDER, page, Member.group_id)


async def count_members(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int], flt: MemberFilter
) -> dict[int, int]:
    """How many members of each group match ``flt``."""
    stmt = (
        _roster(principal, group_ids, flt)
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
