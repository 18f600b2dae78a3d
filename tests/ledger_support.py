"""Helpers shared by the ledger tests: issued invoices (with lines when the test cares), a
rep, an audit trail, and the ledger read back as plain values (not ORM objects, so the
identity map cannot hide a change)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.dates import add_months
from db.models import (
    Coverage,
    CoverageTier,
    Group,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    LedgerEntry,
    Member,
    Payment,
    PaymentAllocation,
    User,
)

GROUP = "G100002"


@dataclass(frozen=True, slots=True)
class Line:
    member: Member
    group_plan_id: int
    tier: CoverageTier
    cents: int
    kind: InvoiceLineKind = InvoiceLineKind.PREMIUM
    service_month: dt.date | None = None
    explanation: str = "Monthly premium at the tier in force on the 1st."


def trail(user_id: int | None = None) -> AuditTrail:
    return AuditTrail(Actor(user_id, None), RequestOrigin(None, "test", None))


async def rep_id(session: AsyncSession) -> int:
    user_id = await session.scalar(select(User.id).where(User.email_key == "rep@demo.test"))
    assert user_id is not None
    return int(user_id)


async def group_id(session: AsyncSession, number: str = GROUP) -> int:
    pk = await session.scalar(select(Group.id).where(Group.group_number == number))
    assert pk is not None
    return int(pk)


async def subscribers(session: AsyncSession, group: int, count: int) -> list[Line]:
    """``count`` seeded subscribers of the group as premium lines (amounts to be set)."""
    rows = await session.execute(
        select(Member, Coverage.group_plan_id, Coverage.tier)
        .join(Coverage, Coverage.member_id == Member.id)
        .where(Member.group_id == group, Member.subscriber_id.is_(None))
        .order_by(Member.member_id, Coverage.effective_date)
        .limit(count)
    )
    return [Line(member, plan, tier, 0) for member, plan, tier in rows]


async def issued_invoice(
    session: AsyncSession,
    group: int,
    month: dt.date,
    *,
    total_cents: int | None = None,
    lines: Sequence[Line] = (),
) -> Invoice:
    """An ISSUED invoice for ``month`` (issued on the 15th before, due on the 1st) whose
    total is its lines' sum, or ``total_cents`` for a test that needs no lines."""
    total = sum(line.cents for line in lines) if total_cents is None else total_cents
    issued = add_months(month, -1).replace(day=15)
    invoice = Invoice(
        group_id=group,
        month=month,
        due_date=month,
        status=InvoiceStatus.ISSUED,
        total_cents=total,
        issued_at=dt.datetime.combine(issued, dt.time(12), tzinfo=dt.UTC),
    )
    session.add(invoice)
    await session.flush()
    session.add_all(_line(invoice, month, line) for line in lines)
    await session.flush()
    return invoice


def _line(invoice: Invoice, month: dt.date, line: Line) -> InvoiceLine:
    return InvoiceLine(
        invoice_id=invoice.id,
        member_id=line.member.id,
        group_plan_id=line.group_plan_id,
        tier=line.tier,
        service_month=line.service_month or month,
        kind=line.kind,
        amount_cents=line.cents,
        explanation=line.explanation,
    )


async def statuses(session: AsyncSession, group: int) -> dict[dt.date, InvoiceStatus]:
    rows = await session.execute(
        select(Invoice.month, Invoice.status).where(Invoice.group_id == group)
    )
    return dict(rows.all())


async def allocations(session: AsyncSession, group: int) -> list[tuple[int, int, int]]:
    """(payment id, invoice id, cents) of the group's allocation rows, in insertion order."""
    rows = await session.execute(
        select(
            PaymentAllocation.payment_id,
            PaymentAllocation.invoice_id,
            PaymentAllocation.amount_cents,
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.group_id == group)
        .order_by(PaymentAllocation.id)
    )
    return [(int(p), int(i), int(c)) for p, i, c in rows]


async def ledger_sum(session: AsyncSession, group: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.group_id == group
        )
    )
    return int(total or 0)
