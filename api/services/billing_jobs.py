"""The billing run of a month as a job (issue: billing: "run as a job with progress").

``QUEUED → RUNNING → COMPLETED``, or ``FAILED`` after ``MAX_ATTEMPTS``. A worker claims a
run with a conditional UPDATE and holds a lease, renewed with every group; a RUNNING run
whose lease ran out (its worker died) is claimed again and starts over: the groups
already billed come out UNCHANGED (``api.services.billing_run`` is idempotent), so nothing
is billed twice and the counts are recounted. Each group's invoice and the run's counts
are written in one transaction, so the counts always match the invoices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import billing_run, leased_jobs
from api.services.audit import Actor
from api.services.dates import utc_now
from api.services.rules import Problem, RuleViolation
from db.models import BillingRun, BillingRunStatus

MAX_ATTEMPTS = 3
Progress = Callable[[int, int], None]
"""Called with (groups done, groups in the run) after each group."""
COUNTERS = {"CREATED": "created_count", "REBUILT": "rebuilt_count",
            "UNCHANGED": "unchanged_count", "ISSUED": "issued_count",
            "NOTHING_TO_BILL": "empty_count"}  # fmt: skip


async def queue_run(
    session: AsyncSession,
    month: dt.date,
    *,
    group_numbers: Sequence[str] | None,
    user_id: int | None,
) -> BillingRun:
    """A QUEUED run of ``month``; refused while another run of the month is in progress."""
    numbers = orjson.dumps(sorted(group_numbers)).decode() if group_numbers else None
    run = BillingRun(month=month, group_numbers=numbers, status=BillingRunStatus.QUEUED,
                     requested_by_user_id=user_id)  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(run)
    except IntegrityError:
        raise RuleViolation([_in_progress(month)]) from None
    return run


def _in_progress(month: dt.date) -> Problem:
    return Problem(
        "RUN_IN_PROGRESS",
        f"A billing run of {month:%B %Y} is already queued or running; follow its progress "
        "in billingRuns, then run the month again if needed (it only bills what changed).",
        ("month",),
    )


async def due_runs(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """Runs waiting for a worker: QUEUED, or RUNNING with a lapsed lease."""
    return await leased_jobs.due(sessions, BillingRun, BillingRunStatus)


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    run_id: int,
    *,
    lease: dt.timedelta,
    actor: Actor,
    progress: Progress | None = None,
) -> bool:
    """Run the billing run if this call claims it; False when another worker has it."""
    if not await leased_jobs.claim(sessions, BillingRun, BillingRunStatus, run_id, lease):
        return False
    run = await _start(sessions, run_id)
    if run.status is BillingRunStatus.FAILED:
        return True
    group_ids = await _groups(sessions, run)

    async def record(session: AsyncSession, result: billing_run.GroupResult) -> None:
        counted = await _count(session, run_id, result, lease)
        if progress is not None:
            progress(counted.groups_done, counted.groups_total or 0)

    await billing_run.run_groups(sessions, run.month, group_ids, actor=actor, on_group=record)
    await _finish(sessions, run_id)
    return True


async def _start(sessions: async_sessionmaker[AsyncSession], run_id: int) -> BillingRun:
    """Counts start from zero (a resumed run recounts); a run that keeps stopping fails."""
    async with sessions.begin() as session:
        run = await session.get_one(BillingRun, run_id)
        if run.attempts > MAX_ATTEMPTS:
            run.status, run.finished_at, run.lease_until = BillingRunStatus.FAILED, utc_now(), None
            run.error = (
                f"The run stopped {MAX_ATTEMPTS} times before finishing; the invoices built "
                "so far stand. Start the month again to complete it."
            )
            return run
        run.groups_done = run.total_cents = 0
        for column in COUNTERS.values():
            setattr(run, column, 0)
        return run


async def _groups(sessions: async_sessionmaker[AsyncSession], run: BillingRun) -> list[int]:
    numbers = orjson.loads(run.group_numbers) if run.group_numbers else None
    async with sessions.begin() as session:
        group_ids = await billing_run.billable_groups(session, run.month, numbers)
        stored = await session.get_one(BillingRun, run.id)
        stored.groups_total = len(group_ids)
    return group_ids


async def _count(
    session: AsyncSession, run_id: int, result: billing_run.GroupResult, lease: dt.timedelta
) -> BillingRun:
    run = await session.get_one(BillingRun, run_id, with_for_update=True)
    counter = COUNTERS[result.outcome]
    setattr(run, counter, getattr(run, counter) + 1)
    run.groups_done += 1
    run.total_cents += result.total_cents
    run.lease_until = utc_now() + lease
    return run


async def in_progress(session: AsyncSession, month: dt.date) -> BillingRun | None:
    """The month's queued or running run, if any."""
    stmt = select(BillingRun).where(
        BillingRun.month == month,
        BillingRun.status.in_((BillingRunStatus.QUEUED, BillingRunStatus.RUNNING)),
    )
    found: BillingRun | None = await session.scalar(stmt)
    return found


def claimable_now(run: BillingRun) -> bool:
    """Whether a worker may take ``run`` now (queued, or its worker's lease lapsed)."""
    return leased_jobs.lease_lapsed(run)


async def _finish(sessions: async_sessionmaker[AsyncSession], run_id: int) -> None:
    async with sessions.begin() as session:
        run = await session.get_one(BillingRun, run_id)
        run.status, run.finished_at, run.lease_until = BillingRunStatus.COMPLETED, utc_now(), None
