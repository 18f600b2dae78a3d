"""A member with what the COB order needs of its policy holder (the subscriber), and the
dual-coverage links of a page of members: one statement per kind, whatever the page size.

Records are scoped in SQL when a principal is given. A dual link's other record is read
whatever its group, since the payment order depends on it; the schema shows that record's
identifiers only when the caller may see its group.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.auth.principal import Principal
from db.models import Coverage, DualCoverageLink, Group, Member
from db.queries.members import ELIGIBILITY
from db.queries.scope import scoped


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member, its group number, and its subscriber's date of birth and first start."""

    member: Member
    group_number: str
    holder_birth_date: dt.date
    holder_since: dt.date | None


@dataclass(frozen=True, slots=True)
class DualLinkRow:
    relation: str
    mine: MemberRecord
    other: MemberRecord


async def member_records(
    session: AsyncSession, member_ids: Iterable[int], principal: Principal | None = None
) -> dict[int, MemberRecord]:
    """The records of ``member_ids`` (only the visible ones when ``principal`` is given)."""
    holder = aliased(Member)
    holder_id = func.coalesce(Member.subscriber_id, Member.id)
    since = select(func.min(Coverage.effective_date)).where(Coverage.member_id == holder_id)
    stmt = (
        select(
            Member,
            Group.group_number,
            func.coalesce(holder.date_of_birth, Member.date_of_birth),
            since.scalar_subquery(),
        )
        .join(Group, Group.id == Member.group_id)
        .outerjoin(holder, holder.id == Member.subscriber_id)
        .where(Member.id.in_(sorted(member_ids)))
    )
    if principal is not None:
        stmt = scoped(stmt, principal, Member.group_id, ELIGIBILITY)
    rows = await session.execute(stmt)
    return {m.id: MemberRecord(m, number, born, start) for m, number, born, start in rows}


async def dual_links_by_member(
    session: AsyncSession, principal: Principal, member_ids: Sequence[int]
) -> dict[int, list[DualLinkRow]]:
    """Each visible member's confirmed links, oldest link first."""
    pairs = await _links(session, principal, member_ids)
    involved = {pk for link, _ in pairs for pk in (link.member_id, link.other_member_id)}
    records = await member_records(session, involved)
    found: dict[int, list[DualLinkRow]] = defaultdict(list)
    for link, key in pairs:
        other = link.other_member_id if link.member_id == key else link.member_id
        found[key].append(DualLinkRow(link.relation, records[key], records[other]))
    return found


async def _links(
    session: AsyncSession, principal: Principal, member_ids: Sequence[int]
) -> list[tuple[DualCoverageLink, int]]:
    touches = or_(
        Member.id == DualCoverageLink.member_id, Member.id == DualCoverageLink.other_member_id
    )
    stmt = (
        select(DualCoverageLink, Member.id)
        .join(Member, touches)
        .where(Member.id.in_(member_ids))
        .order_by(DualCoverageLink.id)
    )
    rows = await session.execute(scoped(stmt, principal, Member.group_id, ELIGIBILITY))
    return [(link, key) for link, key in rows]
