"""Plans, the plans a group offers, and their premium rate schedules (SPEC §2 Premium rates)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.models._types import checked_enum, created_at_column
from db.models.enums import CoverageTier, PlanType
from db.models.groups import Group


class Plan(Base):
    """A dental product in the carrier's catalogue (a PPO, a DHMO...)."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    plan_type: Mapped[PlanType] = mapped_column(checked_enum(PlanType, "plan_type"))


class GroupPlan(Base):
    """A plan offered by a group; rate schedules and coverage hang off it."""

    __tablename__ = "group_plans"
    __table_args__ = (UniqueConstraint("group_id", "plan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[dt.datetime] = created_at_column()

    group: Mapped[Group] = relationship(back_populates="plans", lazy="raise")
    plan: Mapped[Plan] = relationship(lazy="raise")


class RateSchedule(Base):
    """Monthly premiums of one group plan over ``[effective_from, effective_to]``.

    Periods of one group plan never overlap: an exclusion constraint on PostgreSQL and a
    trigger on SQLite say so (see the initial migration).
    """

    __tablename__ = "rate_schedules"
    __table_args__ = (
        CheckConstraint("effective_to >= effective_from", name="period_not_reversed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_plan_id: Mapped[int] = mapped_column(
        ForeignKey("group_plans.id", ondelete="RESTRICT"), index=True
    )
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at_column()

    rates: Mapped[list[TierRate]] = relationship(back_populates="schedule", lazy="raise")


class TierRate(Base):
    """The monthly premium, in integer cents, of one coverage tier in a schedule."""

    __tablename__ = "tier_rates"
    __table_args__ = (
        UniqueConstraint("rate_schedule_id", "tier"),
        CheckConstraint("monthly_premium_cents >= 0", name="premium_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rate_schedule_id: Mapped[int] = mapped_column(
        ForeignKey("rate_schedules.id", ondelete="CASCADE")
    )
    tier: Mapped[CoverageTier] = mapped_column(checked_enum(CoverageTier, "coverage_tier"))
    monthly_premium_cents: Mapped[int] = mapped_column(BigInteger)

    schedule: Mapped[RateSchedule] = relationship(back_populates="rates", lazy="raise")
