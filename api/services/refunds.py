"""Issuing a premium refund (SPEC §2 Billing: a terminated group's credit, "for a rep to
issue"): ``PENDING → ISSUED``, entered in the ledger as a REFUND, which brings the group's
negative total back to zero."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services import ledger
from api.services.audit import AuditTrail
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import LedgerEntryKind, Refund, RefundStatus

MAX_REFERENCE = 100


async def pending_refund(session: AsyncSession, refund_id: int) -> Refund:
    stmt = select(Refund).where(Refund.id == refund_id).with_for_update()
    refund: Refund | None = await session.scalar(stmt)
    if refund is None or refund.status is not RefundStatus.PENDING:
        raise RuleViolation([NOT_PENDING])
    return refund


async def issue(
    session: AsyncSession,
    refund: Refund,
    *,
    reference: str,
    user_id: int | None,
    audit: AuditTrail,
    now: dt.datetime,
) -> Refund:
    """The refund sent (``reference``: the check number or the transfer's id)."""
    reference = reference.strip()
    refuse_if([] if 0 < len(reference) <= MAX_REFERENCE else [REFERENCE_REQUIRED])
    await ledger.lock_group(session, refund.group_id)
    entry = await ledger.enter(
        session, group_id=refund.group_id, kind=LedgerEntryKind.REFUND,
        amount_cents=refund.amount_cents, entry_date=now.date(), user_id=user_id,
        memo=f"Premium refund {refund.id}: {reference}",
    )  # fmt: skip
    refund.status, refund.reference = RefundStatus.ISSUED, reference
    refund.issued_at, refund.issued_by_user_id = now, user_id
    audit.record("refund.issue", target_type="Refund", target_id=str(refund.id),
                 changes={"amountCents": refund.amount_cents, "entry": entry.id,
                          "reference": reference})  # fmt: skip
    return refund


NOT_PENDING = Problem(
    "NOT_PENDING", "No refund with this ID is waiting to be issued (it may be issued).", ("id",)
)
REFERENCE_REQUIRED = Problem(
    "REFERENCE_REQUIRED",
    f"Give the check number or transfer reference (at most {MAX_REFERENCE} characters).",
    ("reference",),
)
