"""Other coverage (COB) queries, scoped to the caller's groups in SQL (area ``eligibility``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import Member, OtherCoverage
from db.queries.members import ELIGIBILITY
from db.queries.scope import scoped


def _visible(principal: Principal) -> Select[OtherCoverage]:
    return scoped(
        select(OtherCoverage).join(Member, Member.id == OtherCoverage.member_id),
        principal,
        Member.group_id,
        ELIGIBILITY,
    )


async def other_coverages_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, OtherCoverage]:
    stmt = _visible(principal).where(OtherCoverage.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def other_coverages_by_member(
    session: AsyncSession, principal: Principal, member_ids: Sequence[int]
) -> dict[int, list[OtherCoverage]]:
    """Each member's other coverage, oldest effective date first."""
    stmt = (
        _visible(principal)
        .where(OtherCoverage.member_id.in_(member_ids))
        .order_by(OtherCoverage.effective_date, OtherCoverage.id)
    )
    found: dict[int, list[OtherCoverage]] = defaultdict(list)
    for row in await session.scalars(stmt):
        found[row.member_id].append(row)
    return found
