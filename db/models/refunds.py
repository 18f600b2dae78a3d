"""Premium refunds (SPEC §2 Billing: "a remaining credit balance becomes a premium refund
for a rep to issue"). A refund enters the ledger (a REFUND entry) only when issued."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import RefundStatus

_PENDING = text("status = 'PENDING'")


class Refund(Base):
    """``amount_cents`` of a group's credit to return; at most one pending per group."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index(
            "uq_refunds_one_pending",
            "group_id",
            unique=True,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("(status = 'ISSUED') = (issued_at IS NOT NULL)", name="issued_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[RefundStatus] = mapped_column(
        checked_enum(RefundStatus, "refund_status"), default=RefundStatus.PENDING
    )
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    issued_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = created_at_column()
