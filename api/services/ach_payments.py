"""Payments by ACH from a group's stored bank account (SPEC §2 Billing: payments): once,
by a benefit leader's ``paymentCreate``, or as autopay when an invoice is issued.

There is no ACH network here: the debit is built from the decrypted numbers and the payment
is recorded as received on the day, with the account as its reference ("ACH ****1234").
Idempotency is ``api.services.payments``'s (group, key): the same key with the same account
and amount returns the first payment, whatever day the retry comes; anything else with the
key is ``IDEMPOTENCY_KEY_REUSED``. Which account a payment debited is kept in
``ach_debits``, so a retry naming another account (even one with the same last four
digits) is told apart. Keys starting ``autopay:`` are the autopay's own.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.bank_accounts import active_account, autopay_account, decrypt
from api.services.bank_data import BankDataCipher
from api.services.dates import today
from api.services.payments import KEY_REUSED, RecordedPayment, record_payment
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import AchDebit, BankAccount, Payment, PaymentMethod

AUTOPAY_KEY_PREFIX = "autopay:"


def reference_of(account: BankAccount) -> str:
    return f"ACH ****{account.account_last4}"


def reserved_key_problems(key: str) -> list[Problem]:
    """A caller's key may not look like the autopay's (it could pre-empt an autopay)."""
    return [KEY_RESERVED] if key.startswith(AUTOPAY_KEY_PREFIX) else []


async def pay_by_ach(
    session: AsyncSession,
    *,
    group_id: int,
    bank_account_id: int,
    amount_cents: int,
    idempotency_key: str,
    cipher: BankDataCipher,
    user_id: int | None,
    audit: AuditTrail,
) -> RecordedPayment:
    """Debit the group's account ``bank_account_id`` for ``amount_cents`` and record the
    payment, applied oldest invoice first (idempotent, see the module docstring)."""
    refuse_if(reserved_key_problems(idempotency_key))
    stored = await _stored(session, group_id, idempotency_key)
    if stored is not None:
        return await _replay(session, stored, bank_account_id, amount_cents)
    account = await active_account(session, group_id=group_id, account_id=bank_account_id)
    return await _debit(session, account, amount_cents, idempotency_key, cipher, user_id, audit)


async def collect_autopay(
    session: AsyncSession,
    *,
    group_id: int,
    invoice_id: int,
    amount_cents: int,
    cipher: BankDataCipher,
    audit: AuditTrail,
) -> RecordedPayment | None:
    """For the invoice-issue step: debit the group's autopay account for what the issued
    invoice asks (``amount_cents``, once per invoice); ``None`` when the group has no
    autopay account or nothing is due."""
    account = await autopay_account(session, group_id)
    if account is None or amount_cents <= 0:
        return None
    key = f"{AUTOPAY_KEY_PREFIX}invoice:{invoice_id}"
    stored = await _stored(session, group_id, key)
    if stored is not None:
        return RecordedPayment(stored, replayed=True)
    return await _debit(session, account, amount_cents, key, cipher, None, audit)


async def _debit(
    session: AsyncSession,
    account: BankAccount,
    amount_cents: int,
    key: str,
    cipher: BankDataCipher,
    user_id: int | None,
    audit: AuditTrail,
) -> RecordedPayment:
    # The debit an ACH file would carry; without a network nothing leaves the process.
    decrypt(account, cipher)
    recorded = await record_payment(
        session,
        group_id=account.group_id,
        amount_cents=amount_cents,
        method=PaymentMethod.ACH,
        received_date=today(),
        reference=reference_of(account),
        idempotency_key=key,
        user_id=user_id,
        audit=audit,
    )
    if recorded.replayed:  # a concurrent request with the key won the claim
        return await _replay(session, recorded.payment, account.id, amount_cents)
    session.add(AchDebit(payment_id=recorded.payment.id, bank_account_id=account.id))
    await session.flush()
    return recorded


async def _replay(
    session: AsyncSession, stored: Payment, bank_account_id: int, amount_cents: int
) -> RecordedPayment:
    debited = await session.scalar(
        select(AchDebit.bank_account_id).where(AchDebit.payment_id == stored.id)
    )
    if debited != bank_account_id or stored.amount_cents != amount_cents:
        raise RuleViolation([KEY_REUSED])
    return RecordedPayment(stored, replayed=True)


async def _stored(session: AsyncSession, group_id: int, key: str) -> Payment | None:
    stmt = select(Payment).where(Payment.group_id == group_id, Payment.idempotency_key == key)
    payment: Payment | None = await session.scalar(stmt)
    return payment


KEY_RESERVED = Problem(
    "IDEMPOTENCY_KEY_INVALID",
    f"Idempotency keys starting {AUTOPAY_KEY_PREFIX!r} are reserved for autopay; use another key.",
    ("idempotencyKey",),
)
