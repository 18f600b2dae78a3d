"""The billing run for a coverage month (SPEC §2 Billing).

One DRAFT invoice per ``LIST_BILL`` group that is active, delinquent or suspended: a
PREMIUM line per subscriber covered on the month's 1st, and RETRO lines for every earlier
billed month whose cost under today's eligibility differs from what was billed for it.

- Each group's invoice is built in its own transaction: a run that is killed leaves every
  invoice whole or absent, and running the month again completes it.
- Idempotent: a group whose invoice for the month is past DRAFT is left alone; a DRAFT
  whose lines are what today's eligibility gives is left alone too; otherwise the DRAFT's
  lines are rebuilt (after an eligibility correction).
- Set-based: a handful of statements per group, whatever its size
  (``api.services.expected_premium``).
- A group with no subscriber to bill gets no invoice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import expected_premium as expected
from api.services import retro_causes
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.dates import add_months
from api.services.money import format_usd
from api.services.rules import Problem, RuleViolation
from db.models import (
    BillingMode,
    Group,
    GroupStatus,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
)

BILLED_STATUSES = (GroupStatus.ACTIVE, GroupStatus.DELINQUENT, GroupStatus.SUSPENDED)
GENERATION_DAY = 15
"""The invoice for M is generated from the 15th of M-1 (SPEC §2 Billing)."""


@dataclass(frozen=True, slots=True)
class Line:
    """An invoice line before it is stored; ``key`` compares a DRAFT with a new build."""

    member_id: int
    service_month: dt.date
    kind: InvoiceLineKind
    group_plan_id: int
    tier: str
    rate_schedule_id: int | None
    rate_cents: int | None
    amount_cents: int
    explanation: str
    cause_change_item_id: int | None = None

    def row(self, invoice_id: int) -> dict[str, object]:
        return {"invoice_id": invoice_id, "member_id": self.member_id,
                "service_month": self.service_month, "kind": self.kind,
                "group_plan_id": self.group_plan_id, "tier": self.tier,
                "rate_schedule_id": self.rate_schedule_id, "rate_cents": self.rate_cents,
                "amount_cents": self.amount_cents, "explanation": self.explanation,
                "cause_change_item_id": self.cause_change_item_id}  # fmt: skip

    @property
    def key(self) -> tuple[object, ...]:
        return (self.member_id, self.service_month, self.kind, self.group_plan_id,
                str(self.tier), self.rate_schedule_id, self.amount_cents)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GroupResult:
    """``outcome``: CREATED, REBUILT, UNCHANGED (a DRAFT already right), ISSUED (past
    DRAFT: left alone) or NOTHING_TO_BILL."""

    group_id: int
    outcome: str
    invoice_id: int | None = None
    total_cents: int = 0


@dataclass(slots=True)
class RunReport:
    month: dt.date
    results: list[GroupResult]

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)


def generation_opens(month: dt.date) -> dt.date:
    """The day the invoice (or a remittance) of ``month`` may first be made."""
    return add_months(month, -1).replace(day=GENERATION_DAY)


def check_month(month: dt.date, today: dt.date) -> dt.date:
    """The month's 1st, once its invoice may be generated (from the 15th of the month
    before); a later month is refused."""
    first = month.replace(day=1)
    opens = generation_opens(first)
    if today < opens:
        message = (
            f"The invoice for {first:%B %Y} is generated from {opens.isoformat()}; "
            "run that month then, or an earlier one now."
        )
        raise RuleViolation([Problem("TOO_EARLY", message, ("month",))])
    return first


async def billable_groups(
    session: AsyncSession, month: dt.date, group_numbers: Sequence[str] | None = None
) -> list[int]:
    """LIST_BILL groups active, delinquent or suspended, covering ``month``."""
    stmt = (
        select(Group.id)
        .where(Group.billing_mode == BillingMode.LIST_BILL, Group.status.in_(BILLED_STATUSES))
        .where(Group.effective_date <= month)
        .order_by(Group.id)
    )
    if group_numbers:
        stmt = stmt.where(Group.group_number.in_(group_numbers))
    return list(await session.scalars(stmt))


GroupHook = Callable[[AsyncSession, GroupResult], Awaitable[None]]
"""Called in each group's transaction with its result (a job records its progress)."""


async def run_month(
    sessions: async_sessionmaker[AsyncSession],
    month: dt.date,
    *,
    actor: Actor,
    group_numbers: Sequence[str] | None = None,
    on_group: GroupHook | None = None,
) -> RunReport:
    """Bill ``month`` (a 1st, checked by ``check_month``) for every billable group."""
    async with sessions() as session:
        group_ids = await billable_groups(session, month, group_numbers)
    return await run_groups(sessions, month, group_ids, actor=actor, on_group=on_group)


async def run_groups(
    sessions: async_sessionmaker[AsyncSession],
    month: dt.date,
    group_ids: Sequence[int],
    *,
    actor: Actor,
    on_group: GroupHook | None = None,
) -> RunReport:
    """Bill ``month`` for ``group_ids``, each group in its own transaction."""
    report = RunReport(month, [])
    for group_id in group_ids:
        async with sessions.begin() as session:
            result = await bill_group(session, group_id, month)
            await _audit(session, actor, result, month)
            if on_group is not None:
                await on_group(session, result)
        report.results.append(result)
    return report


async def bill_group(session: AsyncSession, group_id: int, month: dt.date) -> GroupResult:
    """The group's invoice for ``month``, created, rebuilt or left as it is."""
    invoice = await _current_invoice(session, group_id, month)
    if invoice is not None and invoice.status is not InvoiceStatus.DRAFT:
        return GroupResult(group_id, "ISSUED", invoice.id, invoice.total_cents)
    lines = await build_lines(session, group_id, month)
    if invoice is None:
        if not lines:
            return GroupResult(group_id, "NOTHING_TO_BILL")
        invoice = await _create(session, group_id, month, lines)
        return GroupResult(group_id, "CREATED", invoice.id, invoice.total_cents)
    if await _draft_keys(session, invoice.id) == sorted(line.key for line in lines):
        return GroupResult(group_id, "UNCHANGED", invoice.id, invoice.total_cents)
    await _replace_lines(session, invoice, lines)
    return GroupResult(group_id, "REBUILT", invoice.id, invoice.total_cents)


async def build_lines(session: AsyncSession, group_id: int, month: dt.date) -> list[Line]:
    """The month's premium lines and the retro lines of every earlier billed month."""
    return (await build_lines_for(session, [group_id], month)).get(group_id, [])


async def build_lines_for(
    session: AsyncSession, group_ids: Collection[int], month: dt.date
) -> dict[int, list[Line]]:
    """``build_lines`` of several groups at once, in five statements whatever their number
    (the upcoming invoices of a page of groups)."""
    lines: dict[int, list[Line]] = defaultdict(list)
    for charge in await expected.charges(session, group_ids, [month]):
        lines[charge.group_id].append(_premium_line(charge))
    for group_id, retro in (await _retro_lines(session, group_ids, month)).items():
        lines[group_id] += retro
    return lines


def _premium_line(charge: expected.Charge) -> Line:
    return Line(
        charge.subscriber_pk, charge.month, InvoiceLineKind.PREMIUM, charge.group_plan_id,
        charge.tier, charge.rate_schedule_id, charge.rate_cents, charge.rate_cents or 0,
        _premium_explanation(charge),
    )  # fmt: skip


def _premium_explanation(charge: expected.Charge) -> str:
    what = f"{charge.plan_code} at {charge.tier.value} on {charge.month:%d %B %Y}"
    if charge.rate_cents is None:
        return f"{what}: no rate schedule of the plan is in force that day."
    return f"{what}: {format_usd(charge.rate_cents)} (rate schedule {charge.rate_schedule_id})."


async def _retro_lines(
    session: AsyncSession, group_ids: Collection[int], month: dt.date
) -> dict[int, list[Line]]:
    """Per subscriber and earlier month since the group was first billed: today's cost
    minus what was billed, when not 0."""
    billed_since = await expected.first_billed_months(session, group_ids)
    firsts = {group: first for group, first in billed_since.items() if first < month}
    if not firsts:
        return {}
    months = _months_between(min(firsts.values()), month)
    charges = await expected.charges(session, list(firsts), months)
    owed = {(c.group_id, c.subscriber_pk, c.month): c for c in charges
            if c.month >= firsts[c.group_id]}  # fmt: skip
    billed = {(b.group_id, b.subscriber_pk, b.month): b
              for b in await expected.billed(session, list(firsts), month)}  # fmt: skip
    by_group: dict[int, list[Line]] = defaultdict(list)
    for key in sorted(owed | billed):
        line = _retro_line(owed.get(key), billed.get(key), (key[1], key[2]))
        if line is not None:
            by_group[key[0]].append(line)
    return await _with_causes(session, by_group)


async def _with_causes(
    session: AsyncSession, by_group: dict[int, list[Line]]
) -> dict[int, list[Line]]:
    """Each retro line names the eligibility change it comes from, when there is one."""
    if not by_group:
        return by_group
    changes = await retro_causes.applied_changes(session, list(by_group))
    return {
        group_id: [_caused(line, retro_causes.cause_of(changes[line.member_id], line.service_month))
                   for line in lines]
        for group_id, lines in by_group.items()
    }  # fmt: skip


def _caused(line: Line, cause: retro_causes.Cause | None) -> Line:
    if cause is None:
        return line
    explanation = f"{line.explanation[:-1]}, after {cause.describe()}."
    return dataclasses.replace(line, explanation=explanation,
                               cause_change_item_id=cause.change_item_id)  # fmt: skip


def _months_between(first: dt.date, month: dt.date) -> list[dt.date]:
    months, current = [], first
    while current < month:
        months.append(current)
        current = add_months(current, 1)
    return months


def _retro_line(
    owed: expected.Charge | None, billed: expected.Billed | None, key: tuple[int, dt.date]
) -> Line | None:
    owed_cents = (owed.rate_cents or 0) if owed else 0
    billed_cents = billed.cents if billed else 0
    if owed_cents == billed_cents:
        return None
    plan_id = owed.group_plan_id if owed else billed.group_plan_id  # type: ignore[union-attr]
    tier = owed.tier if owed else billed.tier  # type: ignore[union-attr]
    explanation = _retro_explanation(owed, owed_cents, billed_cents, key[1])
    schedule, rate = (owed.rate_schedule_id, owed.rate_cents) if owed else (None, None)
    return Line(key[0], key[1], InvoiceLineKind.RETRO, plan_id, tier, schedule, rate,
                owed_cents - billed_cents, explanation)  # fmt: skip


def _retro_explanation(
    owed: expected.Charge | None, owed_cents: int, billed_cents: int, month: dt.date
) -> str:
    now = (
        f"{owed.plan_code} at {owed.tier.value}, {format_usd(owed_cents)}"
        if owed
        else "not covered on its 1st"
    )
    return (
        f"Retro for {month:%B %Y}: today's eligibility says {now}; "
        f"{format_usd(billed_cents)} was billed for it."
    )


async def _current_invoice(session: AsyncSession, group_id: int, month: dt.date) -> Invoice | None:
    stmt = (
        select(Invoice)
        .where(Invoice.group_id == group_id, Invoice.month == month)
        .where(Invoice.status != InvoiceStatus.VOID)
        .with_for_update()
    )
    invoice: Invoice | None = await session.scalar(stmt)
    return invoice


async def _create(
    session: AsyncSession, group_id: int, month: dt.date, lines: list[Line]
) -> Invoice:
    total = sum(line.amount_cents for line in lines)
    invoice = Invoice(group_id=group_id, month=month, status=InvoiceStatus.DRAFT,
                      due_date=month, total_cents=total)  # fmt: skip
    session.add(invoice)
    await session.flush()
    await session.execute(insert(InvoiceLine), [line.row(invoice.id) for line in lines])
    return invoice


async def _draft_keys(session: AsyncSession, invoice_id: int) -> list[tuple[object, ...]]:
    stmt = select(
        InvoiceLine.member_id, InvoiceLine.service_month, InvoiceLine.kind,
        InvoiceLine.group_plan_id, InvoiceLine.tier, InvoiceLine.rate_schedule_id,
        InvoiceLine.amount_cents,
    ).where(InvoiceLine.invoice_id == invoice_id)  # fmt: skip
    rows = (await session.execute(stmt)).all()
    return sorted((r[0], r[1], r[2], r[3], str(r[4]), r[5], r[6]) for r in rows)


async def _replace_lines(session: AsyncSession, invoice: Invoice, lines: list[Line]) -> None:
    """A DRAFT is not in the ledger yet: its lines may be rebuilt."""
    await session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    if lines:
        await session.execute(insert(InvoiceLine), [line.row(invoice.id) for line in lines])
    invoice.total_cents = sum(line.amount_cents for line in lines)


async def _audit(session: AsyncSession, actor: Actor, result: GroupResult, month: dt.date) -> None:
    if result.outcome not in ("CREATED", "REBUILT"):
        return
    trail = AuditTrail(actor, RequestOrigin(None, f"billing run {month:%Y-%m}", None))
    trail.record(
        f"invoice.draft{result.outcome.title()}",
        target_type="Invoice",
        target_id=str(result.invoice_id),
        changes={"month": month.isoformat(), "totalCents": result.total_cents},
    )
    await trail.flush(session)
