"""The daily delinquency run as a job (SPEC §4: "Long work (... delinquency runs) is a job
with status, progress and result"), with the lease of ``api.services.leased_jobs``.

Dates only go forward: a date before the latest run's is refused (``RUN_OUT_OF_ORDER``),
a date after today too. The same date again is allowed and changes nothing (each stage
and letter of an episode is recorded once). A run cut short and taken up again assesses
its groups again: those done come out unchanged, so the counts are recounted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import leased_jobs
from api.services.dates import utc_now
from api.services.delinquency.run import GroupResult, RunContext, groups_to_assess, run_groups
from api.services.rules import Problem, refuse_if
from db.models import DelinquencyRun, DelinquencyRunStatus

MAX_ATTEMPTS = 3
Progress = Callable[[int, int], None]
NOT_FAILED = (DelinquencyRunStatus.QUEUED, DelinquencyRunStatus.RUNNING,
              DelinquencyRunStatus.COMPLETED)  # fmt: skip


async def queue_run(
    session: AsyncSession, as_of: dt.date, *, user_id: int | None, today: dt.date
) -> DelinquencyRun:
    """A QUEUED run of ``as_of``; the date's run already queued or running is returned."""
    refuse_if(await _date_problems(session, as_of, today))
    running = await in_progress(session, as_of)
    if running is not None:
        return running
    run = DelinquencyRun(as_of=as_of, status=DelinquencyRunStatus.QUEUED,
                         requested_by_user_id=user_id)  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(run)
    except IntegrityError:  # a concurrent request queued the date first
        found = await in_progress(session, as_of)
        if found is None:
            raise
        return found
    return run


async def _date_problems(session: AsyncSession, as_of: dt.date, today: dt.date) -> list[Problem]:
    if as_of > today:
        message = f"Run delinquency as of today ({today.isoformat()}) or an earlier day."
        return [Problem("AS_OF_IN_FUTURE", message, ("asOf",))]
    latest = await session.scalar(
        select(func.max(DelinquencyRun.as_of)).where(DelinquencyRun.status.in_(NOT_FAILED))
    )
    if latest is not None and as_of < latest:
        message = (
            f"Delinquency was already run as of {latest}; runs go forward day by day, so run "
            f"{latest} or a later day (days past due are counted from the invoices' due "
            "dates, so no day is skipped)."
        )
        return [Problem("RUN_OUT_OF_ORDER", message, ("asOf",))]
    return []


async def in_progress(session: AsyncSession, as_of: dt.date) -> DelinquencyRun | None:
    stmt = select(DelinquencyRun).where(
        DelinquencyRun.as_of == as_of,
        DelinquencyRun.status.in_((DelinquencyRunStatus.QUEUED, DelinquencyRunStatus.RUNNING)),
    )
    found: DelinquencyRun | None = await session.scalar(stmt)
    return found


async def due_runs(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    return await leased_jobs.due(sessions, DelinquencyRun, DelinquencyRunStatus)


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    run_id: int,
    *,
    lease: dt.timedelta,
    context: RunContext,
    progress: Progress | None = None,
) -> bool:
    """Run the job if this call claims it; False when another worker has it."""
    claimed = await leased_jobs.claim(sessions, DelinquencyRun, DelinquencyRunStatus, run_id, lease)
    if not claimed:
        return False
    run = await _start(sessions, run_id)
    if run.status is DelinquencyRunStatus.FAILED:
        return True
    group_ids = await _groups(sessions, run)

    async def record(session: AsyncSession, result: GroupResult) -> None:
        counted = await _count(session, run_id, result, lease)
        if progress is not None:
            progress(counted.groups_done, counted.groups_total or 0)

    context = RunContext(context.actor, context.carrier, context.cipher, run_id)
    await run_groups(sessions, run.as_of, group_ids, context, on_group=record)
    await _finish(sessions, run_id)
    return True


async def _start(sessions: async_sessionmaker[AsyncSession], run_id: int) -> DelinquencyRun:
    async with sessions.begin() as session:
        run = await session.get_one(DelinquencyRun, run_id)
        if run.attempts > MAX_ATTEMPTS:
            run.status, run.finished_at, run.lease_until = (
                DelinquencyRunStatus.FAILED, utc_now(), None)  # fmt: skip
            run.error = (
                f"The run stopped {MAX_ATTEMPTS} times before finishing; what it recorded "
                "stands. Run the date again to complete it."
            )
            return run
        run.groups_done = run.transitions_count = run.letters_count = 0
        return run


async def _groups(sessions: async_sessionmaker[AsyncSession], run: DelinquencyRun) -> list[int]:
    async with sessions.begin() as session:
        group_ids = await groups_to_assess(session, run.as_of)
        stored = await session.get_one(DelinquencyRun, run.id)
        stored.groups_total = len(group_ids)
    return group_ids


async def _count(
    session: AsyncSession, run_id: int, result: GroupResult, lease: dt.timedelta
) -> DelinquencyRun:
    run = await session.get_one(DelinquencyRun, run_id, with_for_update=True)
    run.groups_done += 1
    run.transitions_count += len(result.outcome.events)
    run.letters_count += len(result.outcome.letters)
    run.lease_until = utc_now() + lease
    return run


async def _finish(sessions: async_sessionmaker[AsyncSession], run_id: int) -> None:
    async with sessions.begin() as session:
        run = await session.get_one(DelinquencyRun, run_id)
        run.status, run.finished_at, run.lease_until = (
            DelinquencyRunStatus.COMPLETED, utc_now(), None)  # fmt: skip


def claimable_now(run: DelinquencyRun) -> bool:
    return leased_jobs.lease_lapsed(run)
