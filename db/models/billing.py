"""Invoices, payments and the receivables ledger (SPEC §2 Billing).

Money is integer cents. The ledger is the record every balance is derived from: its rows
are never updated or deleted (triggers refuse it, see migration 0009), and a correction is
a new entry. Sign convention: a positive amount means the group owes more, a negative one
is a credit to the group. Only ``api.services.ledger`` writes entries and allocations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
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
    InvoiceLineKind,
    InvoiceStatus,
    LedgerEntryKind,
    LedgerReason,
    PaymentMethod,
    PaymentStatus,
)

_NOT_VOID = text("status <> 'VOID'")
_INVOICE_ENTRY = text("kind = 'INVOICE'")
_PAYMENT_LINKED = text("payment_id IS NOT NULL")


class Invoice(Base):
    """A group's bill for one coverage month (``month`` is its 1st), due on ``due_date``.
    At most one invoice per group and month is not void."""

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_group_month_not_void",
            "group_id",
            "month",
            unique=True,
            sqlite_where=_NOT_VOID,
            postgresql_where=_NOT_VOID,
        ),
        Index("ix_invoices_group_due", "group_id", "due_date"),
        CheckConstraint("(status = 'VOID') = (voided_at IS NOT NULL)", name="void_has_time"),
        CheckConstraint(
            "status NOT IN ('ISSUED', 'PARTIALLY_PAID', 'PAID') OR issued_at IS NOT NULL",
            name="issued_has_time",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    month: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(
        checked_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    due_date: Mapped[dt.date] = mapped_column(Date)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()


class InvoiceLine(Base):
    """One amount of an invoice: a subscriber's premium for the month, or a retro
    adjustment for an earlier ``service_month``; ``explanation`` says, in plain English,
    where the amount comes from. A subscriber's premium appears once per invoice and month."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        Index(
            "uq_invoice_lines_one_premium",
            "invoice_id",
            "member_id",
            "service_month",
            unique=True,
            sqlite_where=text("kind = 'PREMIUM'"),
            postgresql_where=text("kind = 'PREMIUM'"),
        ),
        CheckConstraint("rate_cents IS NULL OR rate_cents >= 0", name="rate_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    group_plan_id: Mapped[int] = mapped_column(ForeignKey("group_plans.id", ondelete="RESTRICT"))
    tier: Mapped[CoverageTier] = mapped_column(checked_enum(CoverageTier, "coverage_tier"))
    service_month: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[InvoiceLineKind] = mapped_column(checked_enum(InvoiceLineKind, "line_kind"))
    rate_schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("rate_schedules.id", ondelete="RESTRICT")
    )
    rate_cents: Mapped[int | None] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    explanation: Mapped[str] = mapped_column(Text)
    cause_change_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("change_items.id", ondelete="RESTRICT")
    )


class Payment(Base):
    """Money received from a group. ``(group_id, idempotency_key)`` is unique: a retry of the
    same request finds the first payment; ``request_fingerprint`` (a hash of the input)
    tells a retry from a different request that reused the key."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("group_id", "idempotency_key"),
        Index("ix_payments_group_received", "group_id", "received_date"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "(status = 'RETURNED') = (returned_at IS NOT NULL)", name="returned_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    method: Mapped[PaymentMethod] = mapped_column(checked_enum(PaymentMethod, "payment_method"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    received_date: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[PaymentStatus] = mapped_column(
        checked_enum(PaymentStatus, "payment_status"), default=PaymentStatus.APPLIED
    )
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = created_at_column()


class PaymentAllocation(Base):
    """Part of a payment applied to an invoice. Rows are never updated: a reversal inserts
    the negative of what the payment had applied."""

    __tablename__ = "payment_allocations"
    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = created_at_column()


class LedgerEntry(Base):
    """One immutable entry of a group's receivables ledger.

    The database holds the sign convention (``sign_follows_kind``) and the links: entries
    that change what an invoice asks for (INVOICE, WRITE_OFF) name it, payment entries name
    their payment and no invoice (payments reach invoices through allocations). An invoice
    is entered once; a payment is entered once and reversed at most once.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_group_date", "group_id", "entry_date"),
        Index(
            "uq_ledger_entries_invoice_entered",
            "invoice_id",
            unique=True,
            sqlite_where=_INVOICE_ENTRY,
            postgresql_where=_INVOICE_ENTRY,
        ),
        Index(
            "uq_ledger_entries_payment_kind",
            "payment_id",
            "kind",
            unique=True,
            sqlite_where=_PAYMENT_LINKED,
            postgresql_where=_PAYMENT_LINKED,
        ),
        CheckConstraint(
            "kind = 'INVOICE'"
            " OR (kind IN ('PAYMENT', 'WRITE_OFF') AND amount_cents < 0)"
            " OR (kind IN ('PAYMENT_REVERSAL', 'REFUND') AND amount_cents > 0)"
            " OR (kind = 'ADJUSTMENT' AND amount_cents <> 0)",
            name="sign_follows_kind",
        ),
        CheckConstraint(
            "kind NOT IN ('INVOICE', 'WRITE_OFF') OR invoice_id IS NOT NULL",
            name="invoice_entries_name_invoice",
        ),
        CheckConstraint(
            "kind NOT IN ('PAYMENT', 'PAYMENT_REVERSAL')"
            " OR (payment_id IS NOT NULL AND invoice_id IS NULL)",
            name="payment_entries_name_payment",
        ),
        CheckConstraint(
            "kind NOT IN ('ADJUSTMENT', 'WRITE_OFF') OR reason_code IS NOT NULL",
            name="adjustments_have_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    kind: Mapped[LedgerEntryKind] = mapped_column(checked_enum(LedgerEntryKind, "entry_kind"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    reason_code: Mapped[LedgerReason | None] = mapped_column(
        checked_enum(LedgerReason, "ledger_reason")
    )
    memo: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = created_at_column()


class LedgerRequest(Base):
    """A rep's money request (an adjustment, a write-off) claimed by its idempotency key:
    the same key and input return ``ledger_entry_id``; other input with it is refused."""

    __tablename__ = "ledger_requests"
    __table_args__ = (UniqueConstraint("group_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    ledger_entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = created_at_column()
