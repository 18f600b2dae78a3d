"""The receivables ledger (SPEC §2 Billing: account ledger), the one place that writes
ledger entries and payment allocations. Callers commit.

Sign convention (the database checks it): a positive amount means the group owes more
(INVOICE, PAYMENT_REVERSAL, REFUND, a charge ADJUSTMENT); a negative one is a credit to the
group (PAYMENT, WRITE_OFF, a credit ADJUSTMENT). An INVOICE is a charge, except the final
invoice of a terminated group, which may be a credit (its retro credits): nothing is open
on it, and the group's negative total is what its premium refund returns. A group's
balance is the sum of its entries. Entries and allocations are never updated or deleted:
a correction is a new entry, a returned payment inserts the negatives of what it had
applied.

Credit is applied eagerly: whenever money arrives (a payment) or debt appears (an invoice
entered, a payment returned), ``settle`` applies every unapplied cent to the open invoices,
oldest payment to oldest due date, so a group never has unapplied credit and an open
invoice at the same time. Invoice statuses past DRAFT follow from the money
(``allocation.status_of``) and are recomputed wherever it changes.

Concurrency: everything that changes what is open first locks the group's row
(``SELECT ... FOR NO KEY UPDATE``, which does not block inserts that merely reference the
group) until the caller commits, so two payments, or a payment and an invoice, of one
group allocate one after the other and never apply the same cents twice. SQLite has a
single writer anyway and ignores the clause.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.allocation import Match, match, status_of
from api.services.audit import AuditTrail
from api.services.dates import utc_now
from api.services.open_items import (
    applied_by_invoice,
    applied_to_invoice,
    invoice_money,
    open_invoices,
    unapplied_payments,
)
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import (
    Group,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    LedgerEntryKind,
    LedgerReason,
    Payment,
    PaymentAllocation,
    PaymentStatus,
)

ENTERED = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)
"""The statuses of an invoice that is in the ledger (VOID of an entered invoice: to do)."""


async def lock_group(session: AsyncSession, group_id: int) -> None:
    """Serialise the group's money changes until commit (see the module docstring)."""
    stmt = select(Group.id).where(Group.id == group_id).with_for_update(key_share=True)
    if await session.scalar(stmt) is None:
        raise RuleViolation([GROUP_NOT_FOUND])


async def post_invoice(
    session: AsyncSession,
    *,
    invoice: Invoice,
    user_id: int | None,
    audit: AuditTrail,
    final: bool = False,
) -> LedgerEntry:
    """Enter an ISSUED invoice in its group's ledger and apply the group's unapplied credit
    to it (SPEC §2 Billing: an overpayment is a credit that later invoices consume).
    ``final``: a terminated group's last invoice, which may be a credit."""
    refuse_if(_invoice_problems(invoice, final=final))
    await lock_group(session, invoice.group_id)
    if await _entered(session, invoice.id):
        raise RuleViolation([INVOICE_ALREADY_POSTED])
    issued_at = invoice.issued_at or utc_now()
    entry = await enter(
        session,
        group_id=invoice.group_id,
        kind=LedgerEntryKind.INVOICE,
        amount_cents=invoice.total_cents,
        entry_date=issued_at.date(),
        user_id=user_id,
        invoice_id=invoice.id,
    )
    await refresh_statuses(session, invoice.group_id, [invoice.id])
    await settle(session, invoice.group_id)
    _audit(audit, "invoice.post", "Invoice", invoice.id, entry)
    return entry


async def enter_payment(
    session: AsyncSession, payment: Payment, *, user_id: int | None
) -> LedgerEntry:
    """Enter a new payment (a credit) and apply it to the open invoices, oldest due first;
    what is left stays as unapplied credit. ``api.services.payments`` calls this."""
    await lock_group(session, payment.group_id)
    entry = await enter(
        session,
        group_id=payment.group_id,
        kind=LedgerEntryKind.PAYMENT,
        amount_cents=-payment.amount_cents,
        entry_date=payment.received_date,
        user_id=user_id,
        payment_id=payment.id,
    )
    await settle(session, payment.group_id)
    return entry


async def return_payment(
    session: AsyncSession,
    payment: Payment,
    *,
    reason: str,
    user_id: int | None,
    entry_date: dt.date,
) -> LedgerEntry:
    """Reverse a returned payment (e.g. NSF): mark it RETURNED, take back what it applied
    (negative allocations), enter the reversal, and let other credit cover what re-opened.
    The caller holds the group lock and has checked the payment was not returned yet."""
    payment.status = PaymentStatus.RETURNED
    payment.returned_at = utc_now()
    payment.return_reason = reason
    await session.flush()
    applied = await applied_by_invoice(session, payment.id)
    await _allocate(session, [Match(payment.id, inv, -cents) for inv, cents in applied.items()])
    entry = await enter(
        session,
        group_id=payment.group_id,
        kind=LedgerEntryKind.PAYMENT_REVERSAL,
        amount_cents=payment.amount_cents,
        entry_date=entry_date,
        user_id=user_id,
        payment_id=payment.id,
        memo=reason,
    )
    await refresh_statuses(session, payment.group_id, applied.keys())
    await settle(session, payment.group_id)
    return entry


async def void_entered(
    session: AsyncSession,
    *,
    invoice: Invoice,
    reason: str,
    user_id: int | None,
    audit: AuditTrail,
    entry_date: dt.date,
) -> LedgerEntry | None:
    """Take an issued invoice back out of the ledger: the payments it holds are released
    (negative allocations) and what it asks is written off, so it asks nothing; the
    released money then pays other invoices or stays as credit. The caller marks it VOID
    (``refresh_statuses`` leaves VOID alone) with the group locked."""
    applied = await applied_to_invoice(session, invoice.id)
    await _allocate(session, [Match(pay, invoice.id, -cents) for pay, cents in applied.items()])
    money = (await invoice_money(session, invoice.group_id, [invoice.id])).get(invoice.id)
    entry = None
    if money is not None and money.asked > 0:
        asked = money.asked
        entry = await enter(
            session, group_id=invoice.group_id, kind=LedgerEntryKind.WRITE_OFF,
            amount_cents=-asked, entry_date=entry_date, user_id=user_id,
            invoice_id=invoice.id, reason_code=LedgerReason.BILLING_ERROR,
            memo=f"Invoice voided: {reason}",
        )  # fmt: skip
        _audit(audit, "invoice.voidWriteOff", "Invoice", invoice.id, entry)
    return entry


async def settle(session: AsyncSession, group_id: int) -> list[Match]:
    """Apply the group's unapplied credit to its open invoices, oldest to oldest; the
    caller holds the group lock. Returns what was applied."""
    credits = await unapplied_payments(session, group_id)
    if not credits:
        return []
    matches = match(credits, await open_invoices(session, group_id))
    await _allocate(session, matches)
    await refresh_statuses(session, group_id, {m.invoice_id for m in matches})
    return matches


async def refresh_statuses(
    session: AsyncSession, group_id: int, invoice_ids: Collection[int]
) -> None:
    """Set each entered invoice's status from its money (at most three UPDATEs)."""
    if not invoice_ids:
        return
    by_status: dict[InvoiceStatus, list[int]] = {}
    for pk, money in (await invoice_money(session, group_id, invoice_ids)).items():
        status = status_of(asked=money.asked, open_cents=money.open_cents)
        by_status.setdefault(status, []).append(pk)
    for status, ids in by_status.items():
        stmt = update(Invoice).where(Invoice.id.in_(ids), Invoice.status.in_(ENTERED))
        await session.execute(stmt.values(status=status))


async def enter(
    session: AsyncSession,
    *,
    group_id: int,
    kind: LedgerEntryKind,
    amount_cents: int,
    entry_date: dt.date,
    user_id: int | None,
    invoice_id: int | None = None,
    payment_id: int | None = None,
    reason_code: LedgerReason | None = None,
    memo: str | None = None,
) -> LedgerEntry:
    """Append one entry (flushed, so it has its id)."""
    entry = LedgerEntry(
        group_id=group_id,
        kind=kind,
        amount_cents=amount_cents,
        entry_date=entry_date,
        invoice_id=invoice_id,
        payment_id=payment_id,
        reason_code=reason_code,
        memo=memo,
        created_by_user_id=user_id,
    )
    session.add(entry)
    await session.flush()
    return entry


async def _allocate(session: AsyncSession, matches: Iterable[Match]) -> None:
    """Insert allocation rows (negative cents: taken back by a reversal); one statement."""
    rows = [
        {"payment_id": m.payment_id, "invoice_id": m.invoice_id, "amount_cents": m.cents}
        for m in matches
    ]
    if rows:
        await session.execute(insert(PaymentAllocation), rows)


async def _entered(session: AsyncSession, invoice_id: int) -> bool:
    stmt = select(LedgerEntry.id).where(
        LedgerEntry.invoice_id == invoice_id, LedgerEntry.kind == LedgerEntryKind.INVOICE
    )
    return await session.scalar(stmt.limit(1)) is not None


def _invoice_problems(invoice: Invoice, *, final: bool) -> list[Problem]:
    if invoice.status is not InvoiceStatus.ISSUED:
        return [INVOICE_NOT_ISSUED]
    if invoice.total_cents < 0 and not final:
        return [INVOICE_NEGATIVE]
    return []


def _audit(audit: AuditTrail, action: str, target: str, pk: int, entry: LedgerEntry) -> None:
    """Every money change is audited (SPEC §2 Audit) with its entry's kind and amount."""
    audit.record(
        action,
        target_type=target,
        target_id=str(pk),
        changes={"entry": entry.id, "kind": entry.kind.value, "amountCents": entry.amount_cents},
    )


GROUP_NOT_FOUND = Problem("GROUP_NOT_FOUND", "There is no such group; check the group.")
INVOICE_NOT_ISSUED = Problem(
    "INVOICE_NOT_ISSUED",
    "Only an issued invoice can be posted to the ledger; issue the draft first.",
)
INVOICE_NEGATIVE = Problem(
    "INVOICE_NEGATIVE",
    "An invoice whose total is a credit cannot be posted; post the credit as an adjustment.",
)
INVOICE_ALREADY_POSTED = Problem(
    "INVOICE_ALREADY_POSTED", "This invoice is already in the ledger; nothing was changed."
)
