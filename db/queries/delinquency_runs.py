"""Delinquency runs, newest first (representatives only: the field's permission says so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DelinquencyRun
from db.queries.paging import Keyset, Page, PageRequest, fetch_page

_NEWEST_FIRST = Keyset(
    DelinquencyRun, (DelinquencyRun.id,), lambda row: [row.id], descending=True, name="newest"
)


async def delinquency_runs_page(
    session: AsyncSession, first: int, after: str | None
) -> tuple[Page[DelinquencyRun], Callable[[], Awaitable[int]]]:
    """A page of runs and a counter of them all (asked only if ``totalCount`` is)."""
    stmt = select(DelinquencyRun)
    page = await fetch_page(session, stmt, _NEWEST_FIRST, PageRequest(first, after))

    async def count() -> int:
        return int(await session.scalar(select(func.count()).select_from(DelinquencyRun)) or 0)

    return page, count
