"""Bank accounts benefit leaders pay from by ACH (SPEC §2 Billing: payments), and which
account each ACH payment debited.

The routing and account numbers are never stored in plain text: ``routing_ciphertext``
and ``account_ciphertext`` are AES-256-GCM (``api.services.bank_accounts``), and
``number_fingerprint`` is a keyed HMAC of both, so the database can refuse the same
account twice in a group without holding anything a reader could turn back into it. Only
the last four digits are kept readable. An account is removed, not deleted: its payments
still name it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column
from db.models.enums import BankAccountStatus, BankAccountType

_ACTIVE = text("status = 'ACTIVE'")
_AUTOPAY = text("autopay")


class BankAccount(Base):
    """A group's bank account. At most one account of a group is its autopay account, and
    an account is stored once per group while active."""

    __tablename__ = "bank_accounts"
    __table_args__ = (
        Index("ix_bank_accounts_group", "group_id"),
        Index(
            "uq_bank_accounts_one_autopay",
            "group_id",
            unique=True,
            sqlite_where=_AUTOPAY,
            postgresql_where=_AUTOPAY,
        ),
        Index(
            "uq_bank_accounts_active_number",
            "group_id",
            "number_fingerprint",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        CheckConstraint("(status = 'REMOVED') = (removed_at IS NOT NULL)", name="removed_has_time"),
        CheckConstraint("NOT (autopay AND status = 'REMOVED')", name="removed_not_autopay"),
        CheckConstraint(
            "length(account_last4) = 4 AND length(routing_last4) = 4", name="last4_is_four"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    holder_name: Mapped[str] = mapped_column(String(100))
    account_type: Mapped[BankAccountType] = mapped_column(
        checked_enum(BankAccountType, "bank_account_type")
    )
    routing_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    account_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    number_fingerprint: Mapped[str] = mapped_column(String(64))
    routing_last4: Mapped[str] = mapped_column(String(4))
    account_last4: Mapped[str] = mapped_column(String(4))
    autopay: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[BankAccountStatus] = mapped_column(
        checked_enum(BankAccountStatus, "bank_account_status"), default=BankAccountStatus.ACTIVE
    )
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = created_at_column()
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AchDebit(Base):
    """The stored account an ACH payment was debited from (one per payment): it tells a
    retry of ``paymentCreate`` from a request that reused the key for another account."""

    __tablename__ = "ach_debits"

    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), primary_key=True
    )
    bank_account_id: Mapped[int] = mapped_column(
        ForeignKey("bank_accounts.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[dt.datetime] = created_at_column()
