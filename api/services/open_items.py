"""What is still open, read from the ledger and the allocations in SQL (SPEC §2 Billing:
"every balance is derived from it").

An entered invoice *asks* the sum of the ledger entries that name it (the INVOICE entry
less any WRITE_OFF); what is *open* on it is that less the net of its allocations. What is
*unapplied* on a payment that has not been returned is its amount less the net of its
allocations. A returned payment's allocations net to zero (its reversal inserted the
negatives), so it neither pays nor credits anything.

The queries are set-based over a collection of groups: the same statements serve one
group (allocating) and fifty (a leader's dashboard).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import CTE, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.services.allocation import Open
from db.models import Invoice, LedgerEntry, Payment, PaymentAllocation, PaymentStatus


@dataclass(frozen=True, slots=True)
class InvoiceMoney:
    asked: int
    open_cents: int


def invoice_amounts(group_ids: Collection[int]) -> CTE:
    """Per entered invoice of the groups: id, group_id, month, due_date, asked, open_cents."""
    asked = (
        select(
            LedgerEntry.invoice_id.label("invoice_id"),
            func.sum(LedgerEntry.amount_cents).label("asked"),
        )
        .where(LedgerEntry.group_id.in_(group_ids), LedgerEntry.invoice_id.is_not(None))
        .group_by(LedgerEntry.invoice_id)
        .subquery("asked")
    )
    billed = aliased(Invoice)
    applied = (
        select(
            PaymentAllocation.invoice_id.label("invoice_id"),
            func.sum(PaymentAllocation.amount_cents).label("applied"),
        )
        .join(billed, billed.id == PaymentAllocation.invoice_id)
        .where(billed.group_id.in_(group_ids))
        .group_by(PaymentAllocation.invoice_id)
        .subquery("applied")
    )
    return (
        select(
            Invoice.id,
            Invoice.group_id,
            Invoice.month,
            Invoice.due_date,
            asked.c.asked,
            (asked.c.asked - func.coalesce(applied.c.applied, 0)).label("open_cents"),
        )
        .join(asked, asked.c.invoice_id == Invoice.id)
        .outerjoin(applied, applied.c.invoice_id == Invoice.id)
        .cte("invoice_amounts")
    )


def payment_credit(group_ids: Collection[int]) -> CTE:
    """Per payment of the groups not returned: payment_id, group_id, received_date,
    unapplied."""
    paid = aliased(Payment)
    applied = (
        select(
            PaymentAllocation.payment_id.label("payment_id"),
            func.sum(PaymentAllocation.amount_cents).label("applied"),
        )
        .join(paid, paid.id == PaymentAllocation.payment_id)
        .where(paid.group_id.in_(group_ids))
        .group_by(PaymentAllocation.payment_id)
        .subquery("applied")
    )
    return (
        select(
            Payment.id.label("payment_id"),
            Payment.group_id,
            Payment.received_date,
            (Payment.amount_cents - func.coalesce(applied.c.applied, 0)).label("unapplied"),
        )
        .outerjoin(applied, applied.c.payment_id == Payment.id)
        .where(Payment.group_id.in_(group_ids), Payment.status == PaymentStatus.APPLIED)
        .cte("payment_credit")
    )


async def open_invoices(session: AsyncSession, group_id: int) -> list[Open]:
    """The group's invoices with money open, oldest due date first (ties: oldest row)."""
    amounts = invoice_amounts([group_id])
    stmt = (
        select(amounts.c.id, amounts.c.open_cents)
        .where(amounts.c.open_cents > 0)
        .order_by(amounts.c.due_date, amounts.c.id)
    )
    return [Open(int(pk), int(cents)) for pk, cents in await session.execute(stmt)]


async def unapplied_payments(session: AsyncSession, group_id: int) -> list[Open]:
    """The group's payments with money not yet applied, oldest received first."""
    credit = payment_credit([group_id])
    stmt = (
        select(credit.c.payment_id, credit.c.unapplied)
        .where(credit.c.unapplied > 0)
        .order_by(credit.c.received_date, credit.c.payment_id)
    )
    return [Open(int(pk), int(cents)) for pk, cents in await session.execute(stmt)]


async def invoice_money(
    session: AsyncSession, group_id: int, invoice_ids: Collection[int]
) -> dict[int, InvoiceMoney]:
    """What each of the group's entered invoices asks and has open (unentered: absent)."""
    amounts = invoice_amounts([group_id])
    stmt = select(amounts.c.id, amounts.c.asked, amounts.c.open_cents).where(
        amounts.c.id.in_(invoice_ids)
    )
    rows = await session.execute(stmt)
    return {int(pk): InvoiceMoney(int(asked), int(open_)) for pk, asked, open_ in rows}


async def applied_by_invoice(session: AsyncSession, payment_id: int) -> dict[int, int]:
    """What a payment has applied, net, to each invoice (invoices netting zero: absent)."""
    net = func.sum(PaymentAllocation.amount_cents)
    stmt = (
        select(PaymentAllocation.invoice_id, net)
        .where(PaymentAllocation.payment_id == payment_id)
        .group_by(PaymentAllocation.invoice_id)
        .having(net != 0)
        .order_by(PaymentAllocation.invoice_id)
    )
    return {int(invoice): int(cents) for invoice, cents in await session.execute(stmt)}


async def applied_to_invoice(session: AsyncSession, invoice_id: int) -> dict[int, int]:
    """What each payment has applied, net, to an invoice (payments netting zero: absent)."""
    net = func.sum(PaymentAllocation.amount_cents)
    stmt = (
        select(PaymentAllocation.payment_id, net)
        .where(PaymentAllocation.invoice_id == invoice_id)
        .group_by(PaymentAllocation.payment_id)
        .having(net != 0)
        .order_by(PaymentAllocation.payment_id)
    )
    return {int(payment): int(cents) for payment, cents in await session.execute(stmt)}
