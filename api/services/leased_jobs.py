"""The claim-with-lease pattern of our jobs (billing runs, delinquency runs): a job row
with ``status`` (QUEUED, RUNNING, COMPLETED, FAILED), ``lease_until``, ``attempts`` and
``started_at``.

A worker claims a job with one conditional UPDATE, so of several workers (replicas)
exactly one gets it; it holds a lease it renews as it goes. A RUNNING job whose lease ran
out (its worker died) is claimable again, and the caller gives up on a job that keeps
stopping (``attempts``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.dates import utc_now


def claimable(model: Any, statuses: type[enum.StrEnum], now: dt.datetime) -> Any:
    """QUEUED, or RUNNING with a lapsed lease."""
    lapsed = (model.status == statuses("RUNNING")) & (model.lease_until < now)
    return or_(model.status == statuses("QUEUED"), lapsed)


async def due(
    sessions: async_sessionmaker[AsyncSession], model: Any, statuses: type[enum.StrEnum]
) -> list[int]:
    """Up to five jobs waiting for a worker, oldest first."""
    stmt = select(model.id).where(claimable(model, statuses, utc_now())).order_by(model.id)
    async with sessions() as session:
        return list(await session.scalars(stmt.limit(5)))


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    model: Any,
    statuses: type[enum.StrEnum],
    job_id: int,
    lease: dt.timedelta,
) -> bool:
    """RUNNING under a fresh lease if this call claimed it; False when another has it."""
    now = utc_now()
    stmt = (
        update(model)
        .where(model.id == job_id, claimable(model, statuses, now))
        .values(status=statuses("RUNNING"), lease_until=now + lease,
                attempts=model.attempts + 1, started_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    async with sessions.begin() as session:
        return cast(CursorResult[Any], await session.execute(stmt)).rowcount == 1


def lease_lapsed(job: Any) -> bool:
    """Whether a worker may take ``job`` now (queued, or its worker's lease lapsed)."""
    lapsed = job.lease_until is not None and job.lease_until < utc_now()
    return job.status.value == "QUEUED" or lapsed
