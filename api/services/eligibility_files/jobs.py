"""Processing an eligibility file as a job (issue: eligibility files).

``RECEIVED → VALIDATING → APPLYING → COMPLETED / COMPLETED_WITH_ERRORS / REJECTED``. The
job's state is in ``eligibility_files``, so it survives the process:

- a worker claims a file with a conditional UPDATE and holds a lease, renewed as it goes;
  a file whose lease ran out in VALIDATING or APPLYING (its worker died) is claimed again;
- each family (a subscriber and its dependents) is submitted in its own transaction
  through ``api.services.eligibility.engine.submit`` under the idempotency key
  ``file:{file id}:{family index}``, together with its problems and the job's progress.
  A resumed job therefore replays the families already applied (nothing applies twice)
  and recounts everything, and one bad member never blocks or half-applies another.

Parsing runs in a thread, so a large file never blocks the server's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.dates import utc_now
from api.services.eligibility.changes import problems_from_json
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import FILE_KEY_PREFIX, BatchResult, Submitter, submit
from api.services.eligibility.rules import Limits
from api.services.eligibility_files import csv_roster, full_file, x12_834
from api.services.eligibility_files.parsed import (
    FamilyUnit,
    FileProblem,
    ParsedFile,
)
from api.settings import Settings
from db.models import (
    ChangeStatus,
    EligibilityFile,
    EligibilityFileContent,
    EligibilityFileProblem,
    FileFormat,
    FileStatus,
    Group,
)

LEASE = dt.timedelta(minutes=5)
"""How long a claimed job is its worker's (PORTAL_FILE_JOB_LEASE_SECONDS); renewed with
every family applied, so only a worker that stopped lets it run out."""
IN_PROGRESS = (FileStatus.VALIDATING, FileStatus.APPLYING)
MAX_ATTEMPTS = 3
Progress = Callable[[EligibilityFile], None]


@dataclass(frozen=True, slots=True)
class JobSettings:
    ssn_key: str
    limits: Limits
    lease: dt.timedelta = LEASE
    full_file_safety_percent: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> JobSettings:
        lease = dt.timedelta(seconds=settings.file_job_lease_seconds)
        key, limits = settings.ssn_hash_key.get_secret_value(), Limits.from_settings(settings)
        return cls(key, limits, lease, settings.full_file_safety_percent)


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    job: JobSettings,
    file_id: int,
    *,
    progress: Progress | None = None,
) -> bool:
    """Process the file if this call can claim it; False when another worker has it or it
    is finished."""
    if not await _claim(sessions, file_id, utc_now(), job.lease):
        return False
    parsed, acknowledgment = await asyncio.to_thread(_parse, await _content(sessions, file_id), job)
    missing = None
    if parsed.full is not None:
        comparison = await _full_file_plan(sessions, job, file_id, parsed)
        if comparison.held is not None:
            await _hold(sessions, file_id, comparison, acknowledgment)
            return True
        parsed, missing = comparison.parsed, comparison.missing
    await _start_applying(sessions, file_id, parsed, acknowledgment, job.lease, missing)
    for index, unit in enumerate(parsed.units):
        state = await _apply_family(sessions, job, file_id, index, unit)
        if progress is not None:
            progress(state)
    await _finish(sessions, file_id)
    return True


async def due_files(sessions: async_sessionmaker[AsyncSession], *, limit: int = 10) -> list[int]:
    """Files waiting for a worker: RECEIVED, or left in progress by a worker that died.
    A file whose job stopped ``MAX_ATTEMPTS`` times is given up first, visibly."""
    now = utc_now()
    waiting = or_(EligibilityFile.status == FileStatus.RECEIVED, _abandoned(now))
    stmt = (
        select(EligibilityFile.id, EligibilityFile.attempts)
        .where(waiting)
        .order_by(EligibilityFile.id)
        .limit(limit)
    )
    async with sessions() as session:
        rows = (await session.execute(stmt)).all()
    stuck = [file_id for file_id, attempts in rows if attempts >= MAX_ATTEMPTS]
    if stuck:  # an idle worker only reads; it writes when there is something to give up
        await _give_up_on(sessions, stuck, now)
    return [file_id for file_id, attempts in rows if attempts < MAX_ATTEMPTS]


def _abandoned(now: dt.datetime) -> Any:
    return EligibilityFile.status.in_(IN_PROGRESS) & (EligibilityFile.lease_until < now)


def _claimable(now: dt.datetime) -> Any:
    retry = _abandoned(now) & (EligibilityFile.attempts < MAX_ATTEMPTS)
    return or_(EligibilityFile.status == FileStatus.RECEIVED, retry)


async def _give_up_on(
    sessions: async_sessionmaker[AsyncSession], file_ids: list[int], now: dt.datetime
) -> None:
    """A file that stops its worker every time (a bug, or a file that exhausts memory)
    must not be retried forever: REJECTED with the reason, for support to look at."""
    stmt = (
        update(EligibilityFile)
        .where(EligibilityFile.id.in_(file_ids), _abandoned(now))
        .where(EligibilityFile.attempts >= MAX_ATTEMPTS)
        .values(
            status=FileStatus.REJECTED,
            error=f"Processing stopped {MAX_ATTEMPTS} times before the file was finished; "
            "the changes applied so far stand. Contact support with the file's ID.",
            finished_at=now,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    async with sessions.begin() as session:
        await session.execute(stmt)


async def _claim(
    sessions: async_sessionmaker[AsyncSession],
    file_id: int,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
) -> bool:
    """RECEIVED or abandoned -> VALIDATING, leased to this worker; only one claim wins."""
    stmt = (
        update(EligibilityFile)
        .where(EligibilityFile.id == file_id, _claimable(now))
        .values(
            status=FileStatus.VALIDATING,
            lease_until=now + lease,
            attempts=EligibilityFile.attempts + 1,
            started_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    async with sessions.begin() as session:
        return cast(CursorResult[Any], await session.execute(stmt)).rowcount == 1


async def _content(
    sessions: async_sessionmaker[AsyncSession], file_id: int
) -> tuple[FileFormat, bytes]:
    async with sessions() as session:
        file = await session.get_one(EligibilityFile, file_id)
        content = await session.get_one(EligibilityFileContent, file_id)
        return file.format, content.content


async def _full_file_plan(
    sessions: async_sessionmaker[AsyncSession], job: JobSettings, file_id: int, parsed: ParsedFile
) -> full_file.Comparison:
    """The comparison decided when the job first ran (a resumed job keeps it), or now.
    A file held for a rep keeps none: it is compared again once approved."""
    async with sessions.begin() as session:
        file = await session.get_one(EligibilityFile, file_id)
        content = await session.get_one(EligibilityFileContent, file_id)
        if content.plan is not None:
            return full_file.from_plan(content.plan)
        assert parsed.full is not None
        group = await session.get_one(Group, file.group_id)
        roster = await full_file.enrolled_on(session, group.id, parsed.full.effective_date)
        comparison = full_file.compare(parsed, roster, _policy(group, file, job))
        if comparison.held is None:
            content.plan = full_file.to_plan(comparison)
        return comparison


def _policy(group: Group, file: EligibilityFile, job: JobSettings) -> full_file.Policy:
    safety = group.full_file_safety_percent or job.full_file_safety_percent
    approved = file.reviewed_at is not None  # only an approval marks a file reviewed
    return full_file.Policy(group.full_file_terminates_missing, safety, approved)


async def _hold(
    sessions: async_sessionmaker[AsyncSession],
    file_id: int,
    comparison: full_file.Comparison,
    acknowledgment: str | None,
) -> None:
    """Nothing is applied: the file, its differences and why it waits, for a rep."""
    assert comparison.held is not None
    async with sessions.begin() as session:
        file = await session.get_one(EligibilityFile, file_id)
        await _replace_problems(session, file, [comparison.held, *_reported(comparison.parsed)])
        file.acknowledgment, file.full_file = acknowledgment, True
        file.missing_count, file.members_total, file.members_processed = comparison.missing, 0, 0
        file.applied_count = file.pending_count = file.rejected_count = 0
        file.status, file.error = FileStatus.AWAITING_APPROVAL, comparison.held.message
        file.lease_until = None


def _reported(parsed: ParsedFile) -> list[FileProblem]:
    """What the error report lists: why the file was refused, then each problem, then
    what a full file's comparison found."""
    head = [parsed.rejected] if parsed.rejected else []
    return [*head, *parsed.problems, *parsed.differences]


async def _replace_problems(
    session: AsyncSession, file: EligibilityFile, problems: list[FileProblem]
) -> None:
    """An earlier, interrupted run's report is forgotten before this one's is written."""
    await session.execute(
        delete(EligibilityFileProblem).where(EligibilityFileProblem.file_id == file.id)
    )
    await _add_problems(session, file.id, problems)
    file.problem_count = len(problems)


def _parse(source: tuple[FileFormat, bytes], job: JobSettings) -> tuple[ParsedFile, str | None]:
    """The families of the file and, for an X12 file, its 999 acknowledgment."""
    file_format, content = source
    if file_format is FileFormat.CSV:
        return csv_roster.parse(content, ssn_key=job.ssn_key), None
    result = x12_834.parse(content, ssn_key=job.ssn_key)
    return result.parsed, result.acknowledgment


async def _start_applying(
    sessions: async_sessionmaker[AsyncSession],
    file_id: int,
    parsed: ParsedFile,
    acknowledgment: str | None = None,
    lease: dt.timedelta = LEASE,
    missing: int | None = None,
) -> None:
    """Forget what an earlier, interrupted run counted; record the file's own problems
    (the rejection alone, when the file cannot be applied), its 999 and, for a full file,
    how many enrolled members it leaves out."""
    async with sessions.begin() as session:
        file = await session.get_one(EligibilityFile, file_id)
        file.acknowledgment = acknowledgment
        await _replace_problems(session, file, _reported(parsed))
        file.full_file, file.missing_count = missing is not None, missing
        file.members_total, file.members_processed = len(parsed.units), 0
        file.applied_count = file.pending_count = 0
        file.rejected_count = len(parsed.problems)  # a line that is no change is refused
        file.error = parsed.rejected.message if parsed.rejected else None
        file.status = FileStatus.REJECTED if parsed.rejected else FileStatus.APPLYING
        file.lease_until = utc_now() + lease


async def _apply_family(
    sessions: async_sessionmaker[AsyncSession],
    job: JobSettings,
    file_id: int,
    index: int,
    unit: FamilyUnit,
) -> EligibilityFile:
    """One family, its problems and the job's progress, in one transaction."""
    async with sessions.begin() as session:
        file = await session.get_one(EligibilityFile, file_id, with_for_update=True)
        if file.status is not FileStatus.APPLYING:
            return file
        group = await session.get_one(Group, file.group_id)
        now = utc_now()
        ctx = ItemContext(session, group, now.date(), now, job.limits)
        result = await submit(
            ctx,
            key=f"{FILE_KEY_PREFIX}{file_id}:{index}",
            changes=unit.changes,
            submitter=_submitter(file),
        )
        await _record_family(session, file, unit, result)
        file.lease_until = utc_now() + job.lease
        await _audit(session, file, result)
        return file


def _submitter(file: EligibilityFile) -> Submitter:
    return Submitter(file.uploaded_by_user_id, file.uploaded_by_client_id)


async def _record_family(
    session: AsyncSession, file: EligibilityFile, unit: FamilyUnit, result: BatchResult
) -> None:
    result.batch.source = "FILE"
    statuses = [item.status for item in result.items]
    file.applied_count += statuses.count(ChangeStatus.APPLIED)
    file.pending_count += statuses.count(ChangeStatus.PENDING_REVIEW)
    file.rejected_count += statuses.count(ChangeStatus.REJECTED)
    problems = [
        FileProblem(unit.positions[item.position], unit.label, p.code, p.message)
        for item in result.items
        for p in problems_from_json(item.problems)
    ]
    await _add_problems(session, file.id, problems)
    file.problem_count += len(problems)
    file.members_processed += 1


async def _add_problems(session: AsyncSession, file_id: int, problems: list[FileProblem]) -> None:
    if not problems:
        return
    rows = [
        {"file_id": file_id, "position": p.position, "member": p.member, "code": p.code,
         "message": p.message}
        for p in problems
    ]  # fmt: skip
    await session.execute(insert(EligibilityFileProblem), rows)


async def _audit(session: AsyncSession, file: EligibilityFile, result: BatchResult) -> None:
    """The applied items, as the portal form records them; a replay changed nothing."""
    if result.replayed:
        return
    actor = Actor(file.uploaded_by_user_id, file.uploaded_by_client_id or f"file:{file.source}")
    trail = AuditTrail(actor, RequestOrigin(None, f"eligibility file {file.id}", None))
    for item in result.items:
        if item.status is ChangeStatus.APPLIED:
            trail.record(
                f"eligibility.{item.kind.value.lower()}",
                target_type="ChangeItem",
                target_id=str(item.id),
                changes={"effectiveDate": str(item.effective_date), "file": file.id},
            )
    await trail.flush(session)


async def _finish(sessions: async_sessionmaker[AsyncSession], file_id: int) -> None:
    async with sessions.begin() as session:
        file = await session.get_one(EligibilityFile, file_id)
        if file.status is FileStatus.APPLYING:
            clean = file.rejected_count == 0  # pending review is not an error
            file.status = FileStatus.COMPLETED if clean else FileStatus.COMPLETED_WITH_ERRORS
        file.finished_at, file.lease_until = utc_now(), None
