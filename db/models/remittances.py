"""Self-billed remittances (SPEC §2 Billing: "Self-billed groups submit a remittance for
month M: amount and roster"), their roster lines and how the roster differs from
eligibility. Money is integer cents.

A group has at most one *open* remittance per month: ACCEPTED, or an EXCEPTION waiting
for a rep (a partial unique index). A new submission while an EXCEPTION is open marks it
SUPERSEDED first (``superseded_at``) and names it in ``supersedes_id``. REJECTED and
SUPERSEDED remittances are history; the month may be submitted again.
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
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import (
    CoverageTier,
    RemittanceDecision,
    RemittanceDifferenceKind,
    RemittanceSource,
    RemittanceStatus,
)

_OPEN = text("status IN ('ACCEPTED', 'EXCEPTION')")
_EXCEPTIONS = text("status = 'EXCEPTION'")


class Remittance(Base):
    """What a self-billed group remitted for ``month`` (its 1st) and what eligibility
    expected. ``(group_id, idempotency_key)`` is unique; ``request_fingerprint`` (a hash of
    the input) tells a retry from a different request reusing the key, and
    ``expected_fingerprint`` (a hash of the expected charges) tells a rep's decision
    whether eligibility changed since the submission."""

    __tablename__ = "remittances"
    __table_args__ = (
        UniqueConstraint("group_id", "idempotency_key"),
        Index(
            "uq_remittances_group_month_open",
            "group_id",
            "month",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_remittances_exceptions",
            "id",
            sqlite_where=_EXCEPTIONS,
            postgresql_where=_EXCEPTIONS,
        ),
        Index("ix_remittances_group_month", "group_id", "month"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("expected_cents >= 0", name="expected_not_negative"),
        CheckConstraint("threshold_cents >= 0", name="threshold_not_negative"),
        CheckConstraint(
            "(status = 'ACCEPTED') = (invoice_id IS NOT NULL)", name="accepted_has_invoice"
        ),
        CheckConstraint(
            "(status = 'SUPERSEDED') = (superseded_at IS NOT NULL)", name="superseded_has_time"
        ),
        CheckConstraint("(decision IS NULL) = (resolved_at IS NULL)", name="decision_has_time"),
        CheckConstraint(
            "(status = 'REJECTED') = (decision IS NOT NULL AND decision = 'REJECT')",
            name="rejected_by_decision",
        ),
        CheckConstraint(
            "decision IS NULL OR decision <> 'ACCEPT' OR status = 'ACCEPTED'",
            name="accepted_by_decision",
        ),
        CheckConstraint(
            "decision IS NULL OR resolution_reason IS NOT NULL", name="decision_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    month: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[RemittanceStatus] = mapped_column(
        checked_enum(RemittanceStatus, "remittance_status")
    )
    source: Mapped[RemittanceSource] = mapped_column(
        checked_enum(RemittanceSource, "remittance_source")
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    """What the group remitted: the sum of its roster lines."""
    expected_cents: Mapped[int] = mapped_column(BigInteger)
    """The month's premium under eligibility at submission (api.services.expected_premium)."""
    threshold_cents: Mapped[int] = mapped_column(BigInteger)
    """The exception threshold that applied: the larger of the floor and the percentage."""
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    expected_fingerprint: Mapped[str] = mapped_column(String(64))
    submitted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), unique=True
    )
    """The month's self-bill invoice, once accepted."""
    decision: Mapped[RemittanceDecision | None] = mapped_column(
        checked_enum(RemittanceDecision, "remittance_decision")
    )
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    """The rep's reason for accepting, or the message to the group for rejecting."""
    resolved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("remittances.id", ondelete="RESTRICT"), unique=True
    )
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()

    @property
    def variance_cents(self) -> int:
        """Remitted minus expected: negative when the group remitted less."""
        return self.amount_cents - self.expected_cents


class RemittanceLine(Base):
    """One line of a remittance's roster, as the group wrote it: a subscriber's carrier
    member ID, plan code, tier and the amount remitted for them. One line per member."""

    __tablename__ = "remittance_lines"
    __table_args__ = (
        UniqueConstraint("remittance_id", "member_number"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    remittance_id: Mapped[int] = mapped_column(
        ForeignKey("remittances.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    """1-based: the input line's index, or the CSV line number."""
    member_number: Mapped[str] = mapped_column(String(20))
    plan_code: Mapped[str] = mapped_column(String(40))
    tier: Mapped[CoverageTier] = mapped_column(checked_enum(CoverageTier, "coverage_tier"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class RemittanceDifference(Base):
    """How one member's remittance differs from eligibility on the month's 1st, with the
    amounts each side says (0 for the side that has none) and a plain-English message."""

    __tablename__ = "remittance_differences"

    id: Mapped[int] = mapped_column(primary_key=True)
    remittance_id: Mapped[int] = mapped_column(
        ForeignKey("remittances.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[RemittanceDifferenceKind] = mapped_column(
        checked_enum(RemittanceDifferenceKind, "remittance_difference_kind")
    )
    member_number: Mapped[str] = mapped_column(String(20))
    expected_plan_code: Mapped[str | None] = mapped_column(String(40))
    expected_tier: Mapped[CoverageTier | None] = mapped_column(
        checked_enum(CoverageTier, "expected_tier")
    )
    expected_cents: Mapped[int] = mapped_column(BigInteger)
    remitted_plan_code: Mapped[str | None] = mapped_column(String(40))
    remitted_tier: Mapped[CoverageTier | None] = mapped_column(
        checked_enum(CoverageTier, "remitted_tier")
    )
    remitted_cents: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
