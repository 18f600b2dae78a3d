"""Delinquency (SPEC §2 Delinquency): episodes of unpaid premium, the transitions of each,
the letters drafted for them, the daily runs that move groups on, per-group thresholds,
emergency grace extensions, and what a group termination ended (so a reinstatement can
restore it).

An **episode** starts the first day a group has money past due and lasts until the
past-due balance is cleared (CURED) or the group is terminated for non-payment. At most
one episode of a group is OPEN. A stage is reached once per episode, so a transition and
a letter of a stage are recorded at most once (unique indexes), however often a date is
run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import (
    CoverageTier,
    DelinquencyEvent,
    DelinquencyRunStatus,
    DelinquencyStage,
    EpisodeStatus,
    LetterKind,
    LetterStatus,
    MemberStatus,
)

_OPEN = text("status = 'OPEN'")
_IN_PROGRESS = text("status IN ('QUEUED', 'RUNNING')")
_STAGE_EVENTS = text("event IN ('DELINQUENT', 'SECOND_NOTICE', 'SUSPENDED', 'TERMINATED')")


class DelinquencyEpisode(Base):
    """One stretch of a group's unpaid premium.

    ``past_due_since``: the due date of the oldest invoice past due when the episode
    opened (day 1 is the day after); ``assessed_on``: the latest date it was assessed on,
    the episode's clock (a later run or payment never counts from an earlier day).
    ``oldest_due_date``, ``days_past_due``, ``past_due_cents``, ``balance_cents`` and
    ``paid_through_date``: the group's standing when last assessed (what the worklist
    sorts on); ``termination_date``: set when terminated for non-payment."""

    __tablename__ = "delinquency_episodes"
    __table_args__ = (
        Index(
            "uq_delinquency_episodes_one_open",
            "group_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_delinquency_episodes_status_stage", "status", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    status: Mapped[EpisodeStatus] = mapped_column(checked_enum(EpisodeStatus, "episode_status"))
    stage: Mapped[DelinquencyStage] = mapped_column(
        checked_enum(DelinquencyStage, "delinquency_stage")
    )
    past_due_since: Mapped[dt.date] = mapped_column(Date)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    cured_on: Mapped[dt.date | None] = mapped_column(Date)
    oldest_due_date: Mapped[dt.date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    past_due_cents: Mapped[int] = mapped_column(BigInteger)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    paid_through_date: Mapped[dt.date | None] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at_column()


class DelinquencyTransition(Base):
    """One step of an episode, with the reason and the amounts it was based on."""

    __tablename__ = "delinquency_transitions"
    __table_args__ = (
        Index(
            "uq_delinquency_transitions_stage_once",
            "episode_id",
            "event",
            unique=True,
            sqlite_where=_STAGE_EVENTS,
            postgresql_where=_STAGE_EVENTS,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(
        ForeignKey("delinquency_episodes.id", ondelete="RESTRICT"), index=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    event: Mapped[DelinquencyEvent] = mapped_column(
        checked_enum(DelinquencyEvent, "delinquency_event")
    )
    as_of: Mapped[dt.date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    past_due_cents: Mapped[int] = mapped_column(BigInteger)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    paid_through_date: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("delinquency_runs.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at_column()


class DelinquencyLetter(Base):
    """A letter of an episode: drafted from its template with the facts below, reviewed
    (the rep may rewrite ``note``, the free-text paragraph) and sent. Never drafted twice
    for the same kind and episode; a SENT letter never changes."""

    __tablename__ = "delinquency_letters"
    __table_args__ = (
        Index("uq_delinquency_letters_once", "episode_id", "kind", unique=True),
        Index("ix_delinquency_letters_group_status", "group_id", "status"),
        CheckConstraint("(status = 'SENT') = (sent_at IS NOT NULL)", name="sent_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(
        ForeignKey("delinquency_episodes.id", ondelete="RESTRICT")
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    kind: Mapped[LetterKind] = mapped_column(checked_enum(LetterKind, "letter_kind"))
    status: Mapped[LetterStatus] = mapped_column(
        checked_enum(LetterStatus, "letter_status"), default=LetterStatus.DRAFT
    )
    as_of: Mapped[dt.date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    past_due_cents: Mapped[int] = mapped_column(BigInteger)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    past_due_since: Mapped[dt.date] = mapped_column(Date)
    paid_through_date: Mapped[dt.date | None] = mapped_column(Date)
    action_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at_column()


class DelinquencyRun(Base):
    """The daily run as of a date, as a job (as ``BillingRun``). At most one run of a date
    is queued or running at a time."""

    __tablename__ = "delinquency_runs"
    __table_args__ = (
        Index(
            "uq_delinquency_runs_date_in_progress",
            "as_of",
            unique=True,
            sqlite_where=_IN_PROGRESS,
            postgresql_where=_IN_PROGRESS,
        ),
        Index("ix_delinquency_runs_due", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[DelinquencyRunStatus] = mapped_column(
        checked_enum(DelinquencyRunStatus, "delinquency_run_status")
    )
    groups_total: Mapped[int | None] = mapped_column(Integer)
    groups_done: Mapped[int] = mapped_column(Integer, default=0)
    transitions_count: Mapped[int] = mapped_column(Integer, default=0)
    letters_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()


class DelinquencyPolicy(Base):
    """A group's own days past due for each stage; a group without a row has the defaults
    (``api.services.delinquency.policy``)."""

    __tablename__ = "delinquency_policies"
    __table_args__ = (
        CheckConstraint(
            "first_notice_days >= 1 AND second_notice_days > first_notice_days "
            "AND suspension_days > second_notice_days AND termination_days > suspension_days",
            name="stages_in_order",
        ),
    )

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="RESTRICT"), primary_key=True
    )
    first_notice_days: Mapped[int] = mapped_column(Integer)
    second_notice_days: Mapped[int] = mapped_column(Integer)
    suspension_days: Mapped[int] = mapped_column(Integer)
    termination_days: Mapped[int] = mapped_column(Integer)
    updated_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = created_at_column()


class GraceExtension(Base):
    """An emergency grace extension: runs as of a date from ``starts_on`` through
    ``ends_on`` suspend and terminate ``extra_days`` later, for every group or only the
    groups in ``state`` (a disaster area)."""

    __tablename__ = "grace_extensions"
    __table_args__ = (
        CheckConstraint("extra_days BETWEEN 1 AND 180", name="extra_days_range"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    extra_days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = created_at_column()


class CoverageEnding(Base):
    """A coverage span as it was before a group termination ended (or, when it started
    after the date, removed) it: what a reinstatement restores. ``coverage_id`` is null for
    a removed span."""

    __tablename__ = "coverage_endings"
    __table_args__ = (Index("ix_coverage_endings_group_ended", "group_id", "ended_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    coverage_id: Mapped[int | None] = mapped_column(ForeignKey("coverages.id", ondelete="SET NULL"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    group_plan_id: Mapped[int] = mapped_column(ForeignKey("group_plans.id", ondelete="RESTRICT"))
    tier: Mapped[CoverageTier] = mapped_column(checked_enum(CoverageTier, "coverage_tier"))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    previous_termination_date: Mapped[dt.date | None] = mapped_column(Date)
    member_status: Mapped[MemberStatus] = mapped_column(checked_enum(MemberStatus, "member_status"))
    ended_on: Mapped[dt.date] = mapped_column(Date)
    restored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
