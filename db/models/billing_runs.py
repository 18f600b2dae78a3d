"""Billing runs: the run of a coverage month as a job whose state lives here, so a run cut
short is taken up again and its progress is visible (issue: billing)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import BillingRunStatus

_IN_PROGRESS = text("status IN ('QUEUED', 'RUNNING')")


class BillingRun(Base):
    """One run of ``month`` (its 1st), for every billable group or for ``group_numbers``
    (JSON). At most one run of a month is queued or running at a time.

    ``lease_until``: while a worker runs it; a RUNNING run whose lease ran out (its worker
    died) is taken up again. Each group's invoice is built in its own transaction with the
    run's counts, so the counts always match the invoices built."""

    __tablename__ = "billing_runs"
    __table_args__ = (
        Index(
            "uq_billing_runs_month_in_progress",
            "month",
            unique=True,
            sqlite_where=_IN_PROGRESS,
            postgresql_where=_IN_PROGRESS,
        ),
        Index("ix_billing_runs_due", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    group_numbers: Mapped[str | None] = mapped_column(Text)
    status: Mapped[BillingRunStatus] = mapped_column(
        checked_enum(BillingRunStatus, "billing_run_status")
    )
    groups_total: Mapped[int | None] = mapped_column(Integer)
    groups_done: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    rebuilt_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    empty_count: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
