"""Delinquency letters, scoped to the caller's groups in SQL (area ``billing``: SPEC §3,
``billing:read`` and, for a benefit leader, billing VIEW of the group).

A benefit leader sees only letters that were sent: a DRAFT is the carrier's work in
progress (a rep may still rewrite it), as a draft invoice is. A draft of the leader's own
group reads exactly as a letter that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import DelinquencyLetter, LetterStatus
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped

AREA = "billing"

_NEWEST_FIRST = Keyset(
    DelinquencyLetter,
    (DelinquencyLetter.as_of, DelinquencyLetter.id),
    lambda row: [row.as_of.isoformat(), row.id],
    descending=True,
    name="asOf",
)


def _letters(principal: Principal) -> Select[DelinquencyLetter]:
    stmt = scoped(select(DelinquencyLetter), principal, DelinquencyLetter.group_id, AREA)
    return stmt if principal.internal else stmt.where(DelinquencyLetter.status == LetterStatus.SENT)


async def letters_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, DelinquencyLetter]:
    stmt = _letters(principal).where(DelinquencyLetter.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def letters_pages(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[DelinquencyLetter]]:
    """The same page of each group's letters, newest first, in one statement."""
    stmt = _letters(principal).where(DelinquencyLetter.group_id.in_(group_ids))
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, _NEWEST_FIRST, page)}
    return await fetch_pages(session, stmt, _NEWEST_FIRST, page, DelinquencyLetter.group_id)


async def count_letters(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int]
) -> dict[int, int]:
    stmt = (
        _letters(principal)
        .where(DelinquencyLetter.group_id.in_(group_ids))
        .with_only_columns(DelinquencyLetter.group_id, func.count())
        .group_by(DelinquencyLetter.group_id)
    )
    return {int(pk): int(n) for pk, n in await session.execute(stmt)}
