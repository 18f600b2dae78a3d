"""Employer groups (SPEC §2 Groups)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.models._types import checked_enum, created_at_column, updated_at_column
from db.models.enums import BillingMode, GroupStatus

if TYPE_CHECKING:
    from db.models.plans import GroupPlan


class Group(Base):
    """An employer group that buys coverage; ``group_number`` is its business key."""

    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint(
            "termination_date IS NULL OR termination_date >= effective_date",
            name="terminates_after_effective",
        ),
        CheckConstraint("length(group_number) BETWEEN 2 AND 20", name="group_number_length"),
        CheckConstraint(
            "full_file_safety_percent BETWEEN 1 AND 100", name="full_file_safety_percent_range"
        ),
        CheckConstraint(
            "remittance_threshold_cents >= 0", name="remittance_threshold_cents_not_negative"
        ),
        CheckConstraint(
            "remittance_threshold_percent BETWEEN 0 AND 100",
            name="remittance_threshold_percent_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10))
    status: Mapped[GroupStatus] = mapped_column(
        checked_enum(GroupStatus, "group_status"), default=GroupStatus.PENDING_SETUP, index=True
    )
    billing_mode: Mapped[BillingMode] = mapped_column(checked_enum(BillingMode, "billing_mode"))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    full_file_terminates_missing: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    """Whether a full-file 834 terminates the members it leaves out (off unless a rep
    turns it on: a file cut short must not end anyone's coverage)."""
    full_file_safety_percent: Mapped[int | None] = mapped_column(Integer)
    """Above this share of the roster, a full file's terminations wait for a rep; None
    takes PORTAL_FULL_FILE_SAFETY_PERCENT (10)."""
    remittance_threshold_cents: Mapped[int | None] = mapped_column(BigInteger)
    """A self-billed group's own floor of the remittance exception threshold, in cents;
    None takes PORTAL_REMITTANCE_THRESHOLD_CENTS (2500)."""
    remittance_threshold_percent: Mapped[int | None] = mapped_column(Integer)
    """Its own share of the expected premium (whole percent) for the threshold; None
    takes PORTAL_REMITTANCE_THRESHOLD_PERCENT (2)."""
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    plans: Mapped[list[GroupPlan]] = relationship(back_populates="group", lazy="raise")
