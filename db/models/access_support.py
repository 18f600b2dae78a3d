"""Access support (SPEC §2 Web access; issue 9): access issues reported by anyone, signed
in or not, and worked by support staff; their history (internal notes, replies emailed to
the reporter, status changes, login resets); request counters for rate limits that hold
across replicas; and one-time password-reset links.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column, updated_at_column
from db.models.enums import AccessIssueCategory, AccessIssueEntryKind, AccessIssueStatus


class AccessIssue(Base):
    """A reported access problem. ``reference`` is what the reporter is told (e.g.
    ``AI-7K3Q9X``); ``reporter_user_id`` is set when reported signed in; ``subject_user_id``
    is the account it is about (set by support, or the reporter's own). The first response
    is due ``first_response_due_at`` (1 business day by default)."""

    __tablename__ = "access_issues"
    __table_args__ = (
        Index("ix_access_issues_status_due", "status", "first_response_due_at"),
        Index("ix_access_issues_reporter_email_key", "reporter_email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    category: Mapped[AccessIssueCategory] = mapped_column(
        checked_enum(AccessIssueCategory, "access_issue_category")
    )
    status: Mapped[AccessIssueStatus] = mapped_column(
        checked_enum(AccessIssueStatus, "access_issue_status"), default=AccessIssueStatus.OPEN
    )
    reporter_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reporter_email: Mapped[str] = mapped_column(String(320))
    reporter_email_key: Mapped[str] = mapped_column(String(320))
    reporter_name: Mapped[str] = mapped_column(String(200))
    group_number: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    assigned_to_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    first_response_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class AccessIssueEntry(Base):
    """One line of an issue's history; never changed or removed."""

    __tablename__ = "access_issue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("access_issues.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AccessIssueEntryKind] = mapped_column(
        checked_enum(AccessIssueEntryKind, "access_issue_entry_kind")
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()


class RateLimitCounter(Base):
    """Requests counted per ``key`` (e.g. ``access-report:ip:203.0.113.9``) in the fixed
    window starting ``window_start``: in the database, so every replica counts together."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class PasswordReset(Base):
    """A one-time password-reset link: the SHA-256 of a 256-bit random token, bound to one
    user, expiring after 1 hour by default. ``requested_by_user_id`` and
    ``access_issue_id`` are set when support sent it under an issue."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    access_issue_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_issues.id", ondelete="SET NULL")
    )
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at_column()
