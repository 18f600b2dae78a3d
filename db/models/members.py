"""Members and their coverage spans (SPEC §2 Members and coverage)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, orm, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import checked_enum, created_at_column, updated_at_column
from db.models.enums import CoverageTier, MemberStatus, Relationship, Sex
from db.models.groups import Group
from db.models.plans import GroupPlan


class Member(Base):
    """A subscriber (an employee) or one of their dependents.

    The SSN is never stored: ``ssn_hash`` is a keyed HMAC-SHA256 for duplicate matching
    (see ``api.services.ssn``) and ``ssn_last4`` is what the API may show.
    """

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(
            "(relationship = 'SUBSCRIBER') = (subscriber_id IS NULL)",
            name="dependents_have_subscriber",
        ),
        CheckConstraint("length(member_id) = 11", name="member_id_length"),
        CheckConstraint("ssn_last4 IS NULL OR length(ssn_last4) = 4", name="ssn_last4_length"),
        CheckConstraint(
            "(status = 'MERGED') = (merged_into_id IS NOT NULL)", name="merged_has_survivor"
        ),
        Index("ix_members_roster_order", "group_id", "last_name", "first_name", "id"),
        # Duplicate detection (api.services.eligibility.add): name and date of birth, or
        # SSN, within a group (the name case-insensitively).
        Index("ix_members_identity", "group_id", text("lower(last_name)"), "date_of_birth"),
        Index("ix_members_group_ssn", "group_id", "ssn_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    member_id: Mapped[str] = mapped_column(String(11), unique=True)
    # The column is named like the API field; relationships below use ``orm.relationship``.
    relationship: Mapped[Relationship] = mapped_column(checked_enum(Relationship, "relationship"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(checked_enum(Sex, "sex"))
    ssn_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    ssn_last4: Mapped[str | None] = mapped_column(String(4))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[MemberStatus] = mapped_column(
        checked_enum(MemberStatus, "member_status"), default=MemberStatus.ACTIVE
    )
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    group: Mapped[Group] = orm.relationship(lazy="raise")
    coverages: Mapped[list[Coverage]] = orm.relationship(back_populates="member", lazy="raise")


class Coverage(Base):
    """One span of a member's coverage under a group plan at a tier.

    ``tier`` is the tier of the subscriber's enrollment over the span (dependents' spans
    carry their family's tier). Spans of one member never overlap: an exclusion constraint
    on PostgreSQL and a trigger on SQLite enforce it (see the initial migration).
    A null ``termination_date`` means open-ended.
    """

    __tablename__ = "coverages"
    __table_args__ = (
        CheckConstraint(
            "termination_date IS NULL OR termination_date >= effective_date",
            name="terminates_after_effective",
        ),
        Index("ix_coverages_member_dates", "member_id", "effective_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    group_plan_id: Mapped[int] = mapped_column(
        ForeignKey("group_plans.id", ondelete="RESTRICT"), index=True
    )
    tier: Mapped[CoverageTier] = mapped_column(checked_enum(CoverageTier, "coverage_tier"))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at_column()

    member: Mapped[Member] = orm.relationship(back_populates="coverages", lazy="raise")
    group_plan: Mapped[GroupPlan] = orm.relationship(lazy="raise")
