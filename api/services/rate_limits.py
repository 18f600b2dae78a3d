"""Rate limits that hold across replicas (issue 9: "counters in the database, not process
memory"): a fixed-window counter per key, incremented with one upsert whose RETURNING
gives the count, so concurrent requests on any replica count together exactly.

The caller commits the count at once (before it validates the request), so a refused or
invalid request still counts against the sender.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RateLimitCounter


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``limit`` requests per ``window`` for each subject of ``name``."""

    name: str
    limit: int
    window: dt.timedelta


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int
    """0 when allowed; otherwise the seconds until the window ends."""


def window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """The start of the fixed window holding ``now`` (windows are aligned on the epoch)."""
    seconds = window.total_seconds()
    return dt.datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, dt.UTC)


async def hit(session: AsyncSession, limit: Limit, subject: str, now: dt.datetime) -> Verdict:
    """Count one request of ``subject``; refused past the limit, with when to retry."""
    key = f"{limit.name}:{subject.strip().lower()}"[:400]
    start = window_start(now, limit.window)
    count = await _increment(session, key, start)
    await session.execute(
        delete(RateLimitCounter).where(
            RateLimitCounter.key == key, RateLimitCounter.window_start < start
        )
    )
    if count <= limit.limit:
        return Verdict(True, 0)
    return Verdict(False, max(1, math.ceil((start + limit.window - now).total_seconds())))


async def _increment(session: AsyncSession, key: str, start: dt.datetime) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(RateLimitCounter).values(key=key, window_start=start, count=1)
    upsert = values.on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"count": RateLimitCounter.count + 1},
    ).returning(RateLimitCounter.count)
    return int((await session.execute(upsert)).scalar_one())
