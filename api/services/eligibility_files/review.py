"""A rep's decision on a full file held for its size (issue: eligibility files: "never
when more than a safety share of the roster would be terminated — then the whole file
waits for a rep").

Approval sends the file back to its worker, which compares it with the roster again (the
roster may have changed while it waited) and applies it, terminations included, without
the safety check. Rejection ends it: nothing of it is applied.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.rules import Problem, RuleViolation
from db.models import EligibilityFile, FileStatus


async def held_file(session: AsyncSession, file_id: int) -> EligibilityFile:
    """The file, locked, while it waits for a rep."""
    stmt = select(EligibilityFile).where(EligibilityFile.id == file_id).with_for_update()
    file: EligibilityFile | None = await session.scalar(stmt)
    if file is None or file.status is not FileStatus.AWAITING_APPROVAL:
        raise RuleViolation([NOT_AWAITING_APPROVAL])
    return file


def approve(file: EligibilityFile, *, reviewer: int | None, now: dt.datetime) -> None:
    file.status, file.error, file.attempts = FileStatus.RECEIVED, None, 0
    file.reviewed_by_user_id, file.reviewed_at = reviewer, now


def reject(file: EligibilityFile, *, reviewer: int | None, message: str, now: dt.datetime) -> None:
    file.status, file.finished_at = FileStatus.REJECTED, now
    file.error = f"A rep rejected this file; nothing in it was applied: {message}"
    file.reviewed_by_user_id, file.reviewed_at = reviewer, now


NOT_AWAITING_APPROVAL = Problem(
    "NOT_AWAITING_APPROVAL",
    "No file with this ID is waiting for a rep (it may have been decided already).",
    ("id",),
)
