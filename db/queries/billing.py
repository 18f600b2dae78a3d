"""Invoices, their lines, payments and balances, scoped to the caller's groups in SQL (area
``billing``: SPEC §3, ``billing:read`` and, for a benefit leader, billing VIEW of the group).

A benefit leader sees only invoices that were issued (``issued_at`` set: ISSUED,
PARTIALLY_PAID, PAID, and VOID after issue): a DRAFT is the carrier's work in progress and
may still be rebuilt; the group sees the coming month as its upcoming invoice instead.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.services.balances import Balance, balances
from db.models import (
    CoverageTier,
    Group,
    GroupPlan,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    LedgerEntry,
    LedgerEntryKind,
    Member,
    Payment,
    PaymentAllocation,
    Plan,
)
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, fetch_pages
from db.queries.scope import scoped, visible_group_ids

AREA = "billing"
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

_NEWEST_MONTH_FIRST = Keyset(
    Invoice,
    (Invoice.month, Invoice.id),
    lambda row: [row.month.isoformat(), row.id],
    descending=True,
    name="month",
)
_NEWEST_RECEIVED_FIRST = Keyset(
    Payment,
    (Payment.received_date, Payment.id),
    lambda row: [row.received_date.isoformat(), row.id],
    descending=True,
    name="received",
)
_PAYMENT_KINDS = (LedgerEntryKind.PAYMENT, LedgerEntryKind.PAYMENT_REVERSAL)


@dataclass(frozen=True, slots=True)
class LineRow:
    """An invoice line with the member and plan it bills, as the invoice shows them."""

    invoice_id: int
    member_id: str
    first_name: str
    last_name: str
    plan_code: str
    plan_name: str
    tier: CoverageTier
    service_month: dt.date
    kind: InvoiceLineKind
    rate_cents: int | None
    amount_cents: int
    explanation: str


@dataclass(frozen=True, slots=True)
class BilledMember:
    """Who a line bills: the carrier member ID and name (no other personal data)."""

    member_id: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class PlanLabel:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class InvoiceMoney:
    """What an invoice asks (the ledger entries naming it) and what payments applied to it,
    net of reversals; both 0 for an invoice not entered in the ledger (a DRAFT)."""

    asked: int
    paid: int

    @property
    def open(self) -> int:
        return self.asked - self.paid


@dataclass(frozen=True, slots=True)
class Statement:
    """The account summary printed on an invoice, in cents (see ``statement``)."""

    previous_balance: int
    payments: int
    adjustments: int
    current_charges: int

    @property
    def total_due(self) -> int:
        return self.previous_balance + self.payments + self.adjustments + self.current_charges


def invoice_number(pk: int) -> str:
    """The business key printed on an invoice and its remittance stub: ``INV-00001234``."""
    return f"INV-{pk:08d}"


def _issued_only_for_groups(stmt: S, principal: Principal) -> S:
    return stmt if principal.internal else stmt.where(Invoice.issued_at.is_not(None))


def _invoices(principal: Principal) -> Select[Invoice]:
    stmt = scoped(select(Invoice), principal, Invoice.group_id, AREA)
    return _issued_only_for_groups(stmt, principal)


def _of_groups(
    principal: Principal, group_ids: Sequence[int], statuses: Sequence[InvoiceStatus]
) -> Select[Invoice]:
    stmt = _invoices(principal).where(Invoice.group_id.in_(group_ids))
    return stmt.where(Invoice.status.in_(statuses)) if statuses else stmt


async def invoices_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Invoice]:
    stmt = _invoices(principal).where(Invoice.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def invoices_pages(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    statuses: Sequence[InvoiceStatus],
    page: PageRequest,
) -> dict[int, Page[Invoice]]:
    """The same page of each group's invoices, newest month first, in one statement."""
    stmt = _of_groups(principal, group_ids, statuses)
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, _NEWEST_MONTH_FIRST, page)}
    return await fetch_pages(session, stmt, _NEWEST_MONTH_FIRST, page, Invoice.group_id)


async def count_invoices(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    statuses: Sequence[InvoiceStatus],
) -> dict[int, int]:
    stmt = (
        _of_groups(principal, group_ids, statuses)
        .with_only_columns(Invoice.group_id, func.count())
        .group_by(Invoice.group_id)
    )
    return {int(pk): int(n) for pk, n in await session.execute(stmt)}


async def lines_by_invoice(
    session: AsyncSession, principal: Principal, invoice_ids: Sequence[int]
) -> dict[int, list[LineRow]]:
    """Every line of each invoice, by plan code, kind (premium first), member ID and month."""
    stmt = (
        select(
            InvoiceLine.invoice_id, Member.member_id, Member.first_name, Member.last_name,
            Plan.code, Plan.name, InvoiceLine.tier, InvoiceLine.service_month, InvoiceLine.kind,
            InvoiceLine.rate_cents, InvoiceLine.amount_cents, InvoiceLine.explanation,
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .join(Member, Member.id == InvoiceLine.member_id)
        .join(GroupPlan, GroupPlan.id == InvoiceLine.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(InvoiceLine.invoice_id.in_(invoice_ids))
        .order_by(InvoiceLine.invoice_id, Plan.code, InvoiceLine.kind, Member.member_id,
                  InvoiceLine.service_month, InvoiceLine.id)
    )  # fmt: skip
    stmt = _issued_only_for_groups(scoped(stmt, principal, Invoice.group_id, AREA), principal)
    lines: dict[int, list[LineRow]] = defaultdict(list)
    for row in await session.execute(stmt):
        lines[row[0]].append(LineRow(*tuple(row)))
    return lines


async def invoice_money(
    session: AsyncSession, principal: Principal, invoice_ids: Sequence[int]
) -> dict[int, InvoiceMoney]:
    """What each invoice asks and what was paid on it (``api.services.open_items``'s
    definitions, read by invoice rather than by group)."""
    asked = (
        select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount_cents).label("cents"))
        .where(LedgerEntry.invoice_id.in_(invoice_ids))
        .group_by(LedgerEntry.invoice_id)
        .subquery("asked")
    )
    paid = (
        select(
            PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount_cents).label("cents")
        )
        .where(PaymentAllocation.invoice_id.in_(invoice_ids))
        .group_by(PaymentAllocation.invoice_id)
        .subquery("paid")
    )
    stmt = (
        select(Invoice.id, func.coalesce(asked.c.cents, 0), func.coalesce(paid.c.cents, 0))
        .outerjoin(asked, asked.c.invoice_id == Invoice.id)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.id.in_(invoice_ids))
    )
    stmt = _issued_only_for_groups(scoped(stmt, principal, Invoice.group_id, AREA), principal)
    return {int(pk): InvoiceMoney(int(a), int(p)) for pk, a, p in await session.execute(stmt)}


def _payments(principal: Principal) -> Select[Payment]:
    return scoped(select(Payment), principal, Payment.group_id, AREA)


async def payments_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, Payment]:
    stmt = _payments(principal).where(Payment.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}


async def payments_pages(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Payment]]:
    """The same page of each group's payments, newest received first, in one statement."""
    stmt = _payments(principal).where(Payment.group_id.in_(group_ids))
    if len(group_ids) == 1:
        return {group_ids[0]: await fetch_page(session, stmt, _NEWEST_RECEIVED_FIRST, page)}
    return await fetch_pages(session, stmt, _NEWEST_RECEIVED_FIRST, page, Payment.group_id)


async def count_payments(
    session: AsyncSession, principal: Principal, *, group_ids: Sequence[int]
) -> dict[int, int]:
    stmt = (
        _payments(principal)
        .where(Payment.group_id.in_(group_ids))
        .with_only_columns(Payment.group_id, func.count())
        .group_by(Payment.group_id)
    )
    return {int(pk): int(n) for pk, n in await session.execute(stmt)}


async def group_balances(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int], *, as_of: dt.date
) -> dict[int, Balance]:
    """``api.services.balances`` for the groups whose billing the caller may see (the
    statements name only those groups)."""
    visible = visible_group_ids(principal, AREA)
    wanted = [pk for pk in group_ids if visible is None or pk in visible]
    return await balances(session, group_ids=wanted, as_of=as_of)


async def billed_members(
    session: AsyncSession, principal: Principal, member_pks: Sequence[int]
) -> dict[int, BilledMember]:
    """Member ID and name of the members lines bill (the upcoming invoice's)."""
    stmt = scoped(
        select(Member.id, Member.member_id, Member.first_name, Member.last_name),
        principal,
        Member.group_id,
        AREA,
    ).where(Member.id.in_(member_pks))
    return {
        int(pk): BilledMember(mid, first, last)
        for pk, mid, first, last in await session.execute(stmt)
    }


async def plan_labels(
    session: AsyncSession, principal: Principal, group_plan_ids: Sequence[int]
) -> dict[int, PlanLabel]:
    """Plan code and name of each offered plan (group plan id)."""
    stmt = scoped(
        select(GroupPlan.id, Plan.code, Plan.name).join(Plan, Plan.id == GroupPlan.plan_id),
        principal,
        GroupPlan.group_id,
        AREA,
    ).where(GroupPlan.id.in_(group_plan_ids))
    return {int(pk): PlanLabel(code, name) for pk, code, name in await session.execute(stmt)}


async def group_of(session: AsyncSession, invoice: Invoice) -> Group:
    """The group of an invoice already read through a scoped query."""
    return await session.get_one(Group, invoice.group_id)


async def statement(session: AsyncSession, invoice: Invoice) -> Statement:
    """The account summary as of an invoice (of a scoped read), from the group's ledger in
    entry order: the balance after the group's previous invoice entry, the payments
    (net of returns) and the other entries (adjustments, write-offs, refunds) between that
    and this invoice's entry, and this invoice's charges. A DRAFT, not entered yet, counts
    every entry so far."""
    marks = await _invoice_entries(session, invoice.group_id)
    this = marks.get(invoice.id)
    previous = max((pk for pk in marks.values() if this is None or pk < this), default=None)
    before = LedgerEntry.id <= (previous or 0)
    kinds = (
        select(LedgerEntry.kind, before, func.sum(LedgerEntry.amount_cents))
        .where(LedgerEntry.group_id == invoice.group_id)
        .group_by(LedgerEntry.kind, before)
    )
    if this is not None:
        kinds = kinds.where(LedgerEntry.id < this)
    sums = {"before": 0, "payments": 0, "adjustments": 0}
    for kind, is_before, cents in await session.execute(kinds):
        bucket = "before" if is_before else "payments" if kind in _PAYMENT_KINDS else "adjustments"
        sums[bucket] += int(cents)
    return Statement(sums["before"], sums["payments"], sums["adjustments"], invoice.total_cents)


async def _invoice_entries(session: AsyncSession, group_id: int) -> dict[int, int]:
    """Invoice id -> id of the entry that entered it in the group's ledger."""
    stmt = select(LedgerEntry.invoice_id, LedgerEntry.id).where(
        LedgerEntry.group_id == group_id, LedgerEntry.kind == LedgerEntryKind.INVOICE
    )
    rows = await session.execute(stmt)
    return {int(invoice): int(entry) for invoice, entry in rows if invoice is not None}
