"""Billing runs, newest first (representatives only: the field's permission says so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import BillingRun
from db.queries.paging import Keyset, Page, PageRequest, fetch_page

_NEWEST_FIRST = Keyset(
    BillingRun, (BillingRun.id,), lambda row: [row.id], descending=True, name="newest"
)


async def runs_page(
    session: AsyncSession, first: int, after: str | None
) -> tuple[Page[BillingRun], Callable[[], Awaitable[int]]]:
    """A page of runs and a counter of them all (asked only if ``totalCount`` is)."""
    page = await fetch_page(session, select(BillingRun), _NEWEST_FIRST, PageRequest(first, after))

    async def count() -> int:
        return int(await session.scalar(select(func.count()).select_from(BillingRun)) or 0)

    return page, count
