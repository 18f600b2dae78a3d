"""Issuing and voiding invoices (SPEC §2 Billing: ``DRAFT → ISSUED → PARTIALLY_PAID →
PAID``, or ``VOID`` by a rep with a reason; issued invoices are immutable).

Issuing checks the draft (every premium line has a rate in force, the total is the sum of
the lines, no subscriber is billed twice for a month), enters it in the ledger (which
applies any credit), and tells the group's billing contacts by email, all in the caller's
transaction: the invoice, its ledger entry and the emails commit together or not at all.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services import ledger
from api.services.ach_payments import collect_autopay
from api.services.audit import AuditTrail
from api.services.bank_data import BankDataCipher
from api.services.mail import enqueue_email
from api.services.money import format_usd
from api.services.open_items import invoice_money
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import (
    ContactKind,
    Group,
    GroupContact,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    Member,
)

BILL_READY_EMAIL = "invoice.ready"


async def locked_invoice(session: AsyncSession, invoice_id: int) -> Invoice:
    stmt = select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    invoice: Invoice | None = await session.scalar(stmt)
    if invoice is None:
        raise RuleViolation([INVOICE_NOT_FOUND])
    return invoice


async def issue(
    session: AsyncSession,
    invoice: Invoice,
    *,
    user_id: int | None,
    audit: AuditTrail,
    now: dt.datetime,
    carrier: str,
    cipher: BankDataCipher,
    final: bool = False,
) -> Invoice:
    """DRAFT → ISSUED, in the ledger (credit applied), with the bill-ready email queued and,
    when the group pays by autopay, what is left due debited from its account."""
    if invoice.status is not InvoiceStatus.DRAFT:
        raise RuleViolation([NOT_DRAFT])
    refuse_if(await issue_problems(session, invoice))
    invoice.status, invoice.issued_at = InvoiceStatus.ISSUED, now
    await session.flush()
    await ledger.post_invoice(session, invoice=invoice, user_id=user_id, audit=audit, final=final)
    await _bill_ready(session, invoice, carrier, now)
    await _autopay(session, invoice, cipher, audit)
    changes = {"month": invoice.month.isoformat(), "totalCents": invoice.total_cents}
    audit.record("invoice.issue", target_type="Invoice", target_id=str(invoice.id),
                 changes=changes)  # fmt: skip
    return invoice


async def drafts_of(session: AsyncSession, month: dt.date) -> list[int]:
    """The month's DRAFT invoices (for issuing a whole run)."""
    stmt = select(Invoice.id).where(Invoice.month == month, Invoice.status == InvoiceStatus.DRAFT)
    return list(await session.scalars(stmt.order_by(Invoice.id)))


async def _autopay(
    session: AsyncSession, invoice: Invoice, cipher: BankDataCipher, audit: AuditTrail
) -> None:
    money = (await invoice_money(session, invoice.group_id, [invoice.id])).get(invoice.id)
    due = money.open_cents if money else 0
    await collect_autopay(session, group_id=invoice.group_id, invoice_id=invoice.id,
                          amount_cents=due, cipher=cipher, audit=audit)  # fmt: skip
    await session.refresh(invoice)  # the debit may have paid it


async def issue_problems(session: AsyncSession, invoice: Invoice) -> list[Problem]:
    """What stops a draft from being issued, each naming what to fix."""
    problems = [*await _lines_without_rate(session, invoice)]
    total = await session.scalar(
        select(func.coalesce(func.sum(InvoiceLine.amount_cents), 0)).where(
            InvoiceLine.invoice_id == invoice.id
        )
    )
    if int(total or 0) != invoice.total_cents:
        problems.append(_total_mismatch(invoice, int(total or 0)))
    problems += await _billed_elsewhere(session, invoice)
    return problems


async def _lines_without_rate(session: AsyncSession, invoice: Invoice) -> list[Problem]:
    stmt = (
        select(Member.member_id)
        .join(InvoiceLine, InvoiceLine.member_id == Member.id)
        .where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.kind == InvoiceLineKind.PREMIUM)
        .where(InvoiceLine.rate_cents.is_(None))
        .order_by(Member.member_id)
    )
    members = list(await session.scalars(stmt))
    if not members:
        return []
    message = (
        f"No rate is in force on {invoice.month.isoformat()} for {', '.join(members[:10])}"
        f"{' and others' if len(members) > 10 else ''}: add the plan's rate schedule for that "
        "month, run the month again, then issue."
    )
    return [Problem("RATE_MISSING", message)]


def _total_mismatch(invoice: Invoice, lines_total: int) -> Problem:
    message = (
        f"The invoice total {format_usd(invoice.total_cents)} is not the sum of its lines "
        f"{format_usd(lines_total)}; run the month again to rebuild the draft."
    )
    return Problem("TOTAL_MISMATCH", message)


async def _billed_elsewhere(session: AsyncSession, invoice: Invoice) -> list[Problem]:
    """A premium line for a subscriber's month that another live invoice already bills."""
    other = (
        select(InvoiceLine.member_id, InvoiceLine.service_month)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.group_id == invoice.group_id, Invoice.id != invoice.id)
        .where(Invoice.status.not_in((InvoiceStatus.DRAFT, InvoiceStatus.VOID)))
        .where(InvoiceLine.kind == InvoiceLineKind.PREMIUM)
        .subquery()
    )
    stmt = (
        select(func.count())
        .select_from(InvoiceLine)
        .join(other, (other.c.member_id == InvoiceLine.member_id)
              & (other.c.service_month == InvoiceLine.service_month))
        .where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.kind == InvoiceLineKind.PREMIUM)
    )  # fmt: skip
    twice = int(await session.scalar(stmt) or 0)
    if not twice:
        return []
    message = (
        f"{twice} subscriber(s) on this draft are already billed for their month on another "
        "issued invoice; void the draft, or void the other invoice first."
    )
    return [Problem("BILLED_TWICE", message)]


async def _bill_ready(
    session: AsyncSession, invoice: Invoice, carrier: str, now: dt.datetime
) -> None:
    """One email per billing contact of the group (SPEC §2: on issue)."""
    group = await session.get_one(Group, invoice.group_id)
    contacts = await session.scalars(
        select(GroupContact).where(
            GroupContact.group_id == group.id, GroupContact.kind == ContactKind.BILLING
        )
    )
    for contact in contacts:
        enqueue_email(
            session, kind=BILL_READY_EMAIL, to=contact.email,
            subject=f"Your {invoice.month:%B %Y} invoice from {carrier} is ready"[:300],
            body_text=_bill_ready_text(contact.name, group, invoice, carrier),
            related_type="Invoice", related_id=str(invoice.id), now=now,
        )  # fmt: skip


def _bill_ready_text(name: str, group: Group, invoice: Invoice, carrier: str) -> str:
    return (
        f"Hello {name},\n\n"
        f"The {invoice.month:%B %Y} invoice of {group.name} ({group.group_number}) is ready: "
        f"{format_usd(invoice.total_cents)}, due on {invoice.due_date:%B %d, %Y}.\n"
        f"Sign in to the Group Portal to see its lines, download it as a PDF and pay.\n\n"
        f"{carrier}\n"
    )


async def void(
    session: AsyncSession,
    invoice: Invoice,
    *,
    reason: str,
    now: dt.datetime,
    user_id: int | None,
    audit: AuditTrail,
) -> Invoice:
    """VOID with a reason (SPEC §2: by a rep). A draft is simply voided; an issued one is
    taken out of the ledger first (its payments released to pay other invoices or stay as
    credit), and the months it billed are billed again by the next run as retro lines. A
    terminated group's final invoice stands: its credit is the group's refund."""
    if not reason.strip():
        raise RuleViolation([REASON_REQUIRED])
    if invoice.status is InvoiceStatus.VOID:
        raise RuleViolation([ALREADY_VOID])
    if invoice.status is not InvoiceStatus.DRAFT:
        await _take_out_of_ledger(session, invoice, reason, now, user_id, audit)
    invoice.status, invoice.voided_at, invoice.void_reason = InvoiceStatus.VOID, now, reason
    await session.flush()
    if invoice.issued_at is not None:
        await ledger.settle(session, invoice.group_id)
    return invoice


async def _take_out_of_ledger(
    session: AsyncSession,
    invoice: Invoice,
    reason: str,
    now: dt.datetime,
    user_id: int | None,
    audit: AuditTrail,
) -> None:
    if invoice.total_cents < 0:
        raise RuleViolation([FINAL_CREDIT])
    await ledger.lock_group(session, invoice.group_id)
    await ledger.void_entered(session, invoice=invoice, reason=reason, user_id=user_id,
                              audit=audit, entry_date=now.date())  # fmt: skip


INVOICE_NOT_FOUND = Problem("INVOICE_NOT_FOUND", "There is no such invoice.", ("id",))
NOT_DRAFT = Problem("NOT_DRAFT", "Only a DRAFT invoice can be issued; this one is past it.")
ALREADY_VOID = Problem("ALREADY_VOID", "This invoice is already void.", ("id",))
FINAL_CREDIT = Problem(
    "FINAL_CREDIT",
    "This is a terminated group's final credit invoice: its credit is the group's refund.",
    ("id",),
)
REASON_REQUIRED = Problem("REASON_REQUIRED", "Say why the invoice is voided.", ("reason",))
