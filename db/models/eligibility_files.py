"""Eligibility files: a group's roster changes sent as a file, processed as a job whose
state lives here, so that a restart resumes it (issue: eligibility files)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import FileFormat, FileStatus


class EligibilityFile(Base):
    """One received file and its job. A group's file is recognised by its content hash, so
    the same file sent again returns this row instead of being applied twice.

    An X12 file is also recognised by its interchange control number from the same sender
    (ISA06, ISA13). ``acknowledgment`` is the 999 the carrier returns for it.

    ``lease_until``: while a worker processes the file it holds the lease; a file left in
    VALIDATING or APPLYING with an expired lease (its worker died) is taken up again."""

    __tablename__ = "eligibility_files"
    __table_args__ = (
        UniqueConstraint("group_id", "content_hash"),
        UniqueConstraint(
            "group_id",
            "interchange_sender",
            "interchange_control",
            name="uq_eligibility_files_interchange",  # the default name is too long for PostgreSQL
        ),
        Index("ix_eligibility_files_due", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    format: Mapped[FileFormat] = mapped_column(checked_enum(FileFormat, "file_format"))
    source: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[FileStatus] = mapped_column(checked_enum(FileStatus, "file_status"))
    members_total: Mapped[int | None] = mapped_column(Integer)
    members_processed: Mapped[int] = mapped_column(Integer, default=0)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    interchange_sender: Mapped[str | None] = mapped_column(String(15))
    interchange_control: Mapped[str | None] = mapped_column(String(9))
    acknowledgment: Mapped[str | None] = mapped_column(Text)
    full_file: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A full-file 834: the whole roster, compared with the group's."""
    missing_count: Mapped[int | None] = mapped_column(Integer)
    """A full file's enrolled members it leaves out."""
    reviewed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    uploaded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    uploaded_by_client_id: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()


class EligibilityFileContent(Base):
    """The bytes as received, apart from the job row so that lists stay light."""

    __tablename__ = "eligibility_file_contents"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("eligibility_files.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
    plan: Mapped[str | None] = mapped_column(Text)
    """A full file's changes, decided once by comparing it with the roster (JSON), so that
    a resumed job applies the same families under the same keys."""


class EligibilityFileProblem(Base):
    """One line of a file's error report: where (line or segment), whom, what to fix."""

    __tablename__ = "eligibility_file_problems"
    __table_args__ = (Index("ix_eligibility_file_problems_file", "file_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("eligibility_files.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    member: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
