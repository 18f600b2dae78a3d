"""Receiving an eligibility file: size limit, format, and recognising a file already sent.

The same bytes sent again for the same group (a retry, or the benefits platform sending
yesterday's file twice), or an X12 interchange with a control number its sender used
before, return the first file's job instead of being applied twice; unique constraints
settle a race between two uploads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.eligibility_files.x12_834 import Envelope, envelope_of
from api.services.rules import Problem, RuleViolation
from db.models import EligibilityFile, EligibilityFileContent, FileFormat, FileStatus, Group

MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Upload:
    """Who sent what: ``source`` is PORTAL, EDI or CLI."""

    file_name: str
    content: bytes
    format: FileFormat
    source: str
    user_id: int | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    file: EligibilityFile
    duplicate: bool


def guess_format(content: bytes) -> FileFormat:
    """X12 starts with its ISA segment; anything else is read as the CSV roster."""
    return FileFormat.X12_834 if content.lstrip()[:3] == b"ISA" else FileFormat.CSV


async def receive(
    session: AsyncSession, *, group: Group, upload: Upload, max_bytes: int
) -> Received:
    """Record the file as RECEIVED (the job starts later), or return the one sent before."""
    _check(upload, max_bytes)
    digest = hashlib.sha256(upload.content).hexdigest()
    envelope = envelope_of(upload.content) if upload.format is FileFormat.X12_834 else None
    earlier = await _same_file(session, group.id, digest, envelope)
    if earlier is not None:
        return Received(earlier, duplicate=True)
    file = _new_file(group, upload, digest)
    if envelope is not None:
        file.interchange_sender, file.interchange_control = envelope.sender, envelope.control
    try:
        async with session.begin_nested():
            session.add(file)
            await session.flush()
            session.add(EligibilityFileContent(file_id=file.id, content=upload.content))
    except IntegrityError:  # the same file, uploaded at the same moment, won
        winner = await _same_file(session, group.id, digest, envelope)
        assert winner is not None
        return Received(winner, duplicate=True)
    return Received(file, duplicate=False)


def _check(upload: Upload, max_bytes: int) -> None:
    if len(upload.content) > max_bytes:
        raise RuleViolation([file_too_large(max_bytes)])
    if not upload.content.strip():
        message = "The file is empty; send the file with its changes."
        raise RuleViolation([Problem("EMPTY_FILE", message, ("file",))])


def file_too_large(max_bytes: int) -> Problem:
    return Problem(
        "FILE_TOO_LARGE",
        f"The file is larger than {max_bytes // 1_000_000} MB; split it into smaller files.",
        ("file",),
    )


async def _same_file(
    session: AsyncSession, group_id: int, digest: str, envelope: Envelope | None
) -> EligibilityFile | None:
    """The group's earlier file with these bytes, or with this sender's control number."""
    same = EligibilityFile.content_hash == digest
    if envelope is not None:
        same = or_(
            same,
            (EligibilityFile.interchange_sender == envelope.sender)
            & (EligibilityFile.interchange_control == envelope.control),
        )
    stmt = select(EligibilityFile).where(EligibilityFile.group_id == group_id, same).limit(1)
    found: EligibilityFile | None = await session.scalar(stmt)
    return found


def _new_file(group: Group, upload: Upload, digest: str) -> EligibilityFile:
    return EligibilityFile(
        group_id=group.id,
        format=upload.format,
        source=upload.source,
        file_name=(upload.file_name or "upload")[:MAX_NAME],
        content_hash=digest,
        size_bytes=len(upload.content),
        status=FileStatus.RECEIVED,
        members_processed=0,
        applied_count=0,
        pending_count=0,
        rejected_count=0,
        problem_count=0,
        attempts=0,
        uploaded_by_user_id=upload.user_id,
        uploaded_by_client_id=upload.client_id,
    )
