"""Payments received from a group, and their return (SPEC §2 Billing: payments; issue 7:
"every money mutation takes an idempotency key").

A payment is keyed by (group, idempotency key). The same key with the same input returns
the first payment and changes nothing; with a different input it is refused. The claim is
the INSERT itself: two requests racing on one key meet at the unique constraint, and the
loser returns the winner's payment, so a payment is recorded once however often it is sent.
The money side (the ledger entry, the allocations) is ``api.services.ledger``'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.dates import today
from api.services.delinquency.reassess import after_money
from api.services.ledger import GROUP_NOT_FOUND, enter_payment, lock_group, return_payment
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import LedgerEntry, Payment, PaymentMethod, PaymentStatus

MAX_KEY = 100
MAX_REFERENCE = 100


@dataclass(frozen=True, slots=True)
class RecordedPayment:
    """``replayed``: the payment an earlier request with the same key recorded."""

    payment: Payment
    replayed: bool


async def record_payment(
    session: AsyncSession,
    *,
    group_id: int,
    amount_cents: int,
    method: PaymentMethod,
    received_date: dt.date,
    reference: str | None,
    idempotency_key: str,
    user_id: int | None,
    audit: AuditTrail,
) -> RecordedPayment:
    """Record a payment and apply it to the group's open invoices, oldest due first; what
    is left is unapplied credit. Idempotent on ``idempotency_key`` (module docstring)."""
    refuse_if(_problems(amount_cents, reference, idempotency_key))
    fingerprint = fingerprint_of(amount_cents, method, received_date, reference)
    stored = await _stored(session, group_id, idempotency_key)
    if stored is not None:
        return _replay(stored, fingerprint)
    payment = Payment(
        group_id=group_id,
        method=method,
        amount_cents=amount_cents,
        received_date=received_date,
        reference=reference,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        status=PaymentStatus.APPLIED,
        created_by_user_id=user_id,
    )
    if not await _claim(session, payment):
        return _replay(await _winner(session, group_id, idempotency_key), fingerprint)
    await enter_payment(session, payment, user_id=user_id)
    await after_money(session, group_id, on=received_date, audit=audit, user_id=user_id)
    _audit(audit, "payment.record", payment)
    return RecordedPayment(payment, replayed=False)


async def reverse_payment(
    session: AsyncSession,
    *,
    payment_id: int,
    reason: str,
    user_id: int | None,
    audit: AuditTrail,
    returned_on: dt.date | None = None,
) -> LedgerEntry:
    """Reverse a returned payment (e.g. NSF), re-opening what it paid (SPEC §2 Billing).
    A payment is reversed at most once: the second attempt is refused."""
    refuse_if([REASON_MISSING] if not reason.strip() else [])
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise RuleViolation([PAYMENT_NOT_FOUND])
    await lock_group(session, payment.group_id)
    await session.refresh(payment)  # as of the lock: a concurrent reversal has committed
    if payment.status is PaymentStatus.RETURNED:
        raise RuleViolation([ALREADY_RETURNED])
    entry = await return_payment(
        session, payment, reason=reason.strip(), user_id=user_id, entry_date=returned_on or today()
    )
    await after_money(session, payment.group_id, on=entry.entry_date, audit=audit, user_id=user_id)
    _audit(audit, "payment.reverse", payment)
    return entry


def fingerprint_of(
    amount_cents: int, method: PaymentMethod, received_date: dt.date, reference: str | None
) -> str:
    """SHA-256 of the input that makes the payment (the group and key scope it already)."""
    canonical = orjson.dumps([amount_cents, method.value, received_date.isoformat(), reference])
    return hashlib.sha256(canonical).hexdigest()


async def _claim(session: AsyncSession, payment: Payment) -> bool:
    """Insert the payment in a SAVEPOINT; False when the insert is refused (the key is
    taken, by a concurrent request that committed first, or the group does not exist)."""
    try:
        async with session.begin_nested():
            session.add(payment)
    except IntegrityError:
        return False
    return True


async def _stored(session: AsyncSession, group_id: int, key: str) -> Payment | None:
    stmt = select(Payment).where(Payment.group_id == group_id, Payment.idempotency_key == key)
    payment: Payment | None = await session.scalar(stmt)
    return payment


async def _winner(session: AsyncSession, group_id: int, key: str) -> Payment:
    winner = await _stored(session, group_id, key)
    if winner is None:
        raise RuleViolation([GROUP_NOT_FOUND])
    return winner


def _replay(payment: Payment, fingerprint: str) -> RecordedPayment:
    if payment.request_fingerprint != fingerprint:
        raise RuleViolation([KEY_REUSED])
    return RecordedPayment(payment, replayed=True)


def _problems(amount_cents: int, reference: str | None, key: str) -> list[Problem]:
    problems = [] if amount_cents > 0 else [AMOUNT_NOT_POSITIVE]
    problems += [] if key.strip() and len(key) <= MAX_KEY else [KEY_INVALID]
    problems += [] if reference is None or len(reference) <= MAX_REFERENCE else [REF_TOO_LONG]
    return problems


def _audit(audit: AuditTrail, action: str, payment: Payment) -> None:
    """Every money change is audited (SPEC §2 Audit)."""
    audit.record(
        action,
        target_type="Payment",
        target_id=str(payment.id),
        changes={
            "amountCents": payment.amount_cents,
            "method": payment.method.value,
            "receivedDate": payment.received_date.isoformat(),
            "status": payment.status.value,
        },
    )


AMOUNT_NOT_POSITIVE = Problem(
    "AMOUNT_NOT_POSITIVE", "Enter the amount received; it must be more than zero.", ("amount",)
)
KEY_INVALID = Problem(
    "IDEMPOTENCY_KEY_INVALID",
    f"Send an idempotency key of 1 to {MAX_KEY} characters, new for each new payment.",
    ("idempotencyKey",),
)
KEY_REUSED = Problem(
    "IDEMPOTENCY_KEY_REUSED",
    "This idempotency key was already used for a different payment; use a new key for a "
    "new payment (reuse a key only to retry the very same one).",
    ("idempotencyKey",),
)
REF_TOO_LONG = Problem(
    "REFERENCE_TOO_LONG", f"Keep the reference under {MAX_REFERENCE} characters.", ("reference",)
)
REASON_MISSING = Problem(
    "REASON_MISSING", "Say why the payment came back (for example: NSF).", ("reason",)
)
PAYMENT_NOT_FOUND = Problem("PAYMENT_NOT_FOUND", "There is no such payment; check the payment.")
ALREADY_RETURNED = Problem(
    "PAYMENT_ALREADY_RETURNED", "This payment was already reversed; nothing was changed."
)
