"""Eligibility change requests, ID-card requests, other coverage (COB) and dual-coverage
links (SPEC §2 Members and coverage)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import ChangeKind, ChangeStatus, IdCardReason, IdCardStatus


class ChangeBatch(Base):
    """One submission of changes; its idempotency key makes a retry return the same result.
    ``fingerprint`` (a hash of the input) tells a retry from a different request that
    reused the key."""

    __tablename__ = "change_batches"
    __table_args__ = (UniqueConstraint("group_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    submitted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    submitted_by_client_id: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="PORTAL")
    created_at: Mapped[dt.datetime] = created_at_column()


class ChangeItem(Base):
    """One change of a batch and its outcome. ``payload`` is the change as JSON with the SSN
    already replaced by its keyed hash and last 4 (never stored in plain text)."""

    __tablename__ = "change_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "position"),
        Index("ix_change_items_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("change_batches.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ChangeKind] = mapped_column(checked_enum(ChangeKind, "change_kind"))
    payload: Mapped[str] = mapped_column(Text)
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[ChangeStatus] = mapped_column(checked_enum(ChangeStatus, "change_status"))
    problems: Mapped[str] = mapped_column(Text, default="[]")
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()


class IdCardRequest(Base):
    __tablename__ = "id_card_requests"
    __table_args__ = (Index("ix_id_card_requests_open", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    reason: Mapped[IdCardReason] = mapped_column(checked_enum(IdCardReason, "id_card_reason"))
    status: Mapped[IdCardStatus] = mapped_column(
        checked_enum(IdCardStatus, "id_card_status"), default=IdCardStatus.QUEUED
    )
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_on: Mapped[dt.date] = mapped_column(Date)
    printed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class OtherCoverage(Base):
    """A member's coverage with another carrier, for coordination of benefits."""

    __tablename__ = "other_coverages"
    __table_args__ = (
        CheckConstraint(
            "termination_date IS NULL OR termination_date >= effective_date",
            name="terminates_after_effective",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    carrier_name: Mapped[str] = mapped_column(String(200))
    policy_number: Mapped[str] = mapped_column(String(50))
    group_number: Mapped[str | None] = mapped_column(String(50))
    policy_holder_name: Mapped[str] = mapped_column(String(200))
    policy_holder_birth_date: Mapped[dt.date | None] = mapped_column(Date)
    policy_holder_since: Mapped[dt.date | None] = mapped_column(Date)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at_column()


class DualCoverageLink(Base):
    """Two members of this carrier who are the same person or spouses (rep-confirmed);
    stored once, lower member id first."""

    __tablename__ = "dual_coverage_links"
    __table_args__ = (
        UniqueConstraint("member_id", "other_member_id"),
        CheckConstraint("member_id < other_member_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    other_member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    relation: Mapped[str] = mapped_column(String(20))
    confirmed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()
