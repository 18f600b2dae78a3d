"""What a self-billed group's month is expected to cost, and the month's invoice at that
amount (SPEC §2 Billing: "a subscriber is billed for month M at the tier and rate in force
on the 1st of M"; self-billed groups: "the system computes the expected premium").

The expected premium is ``expected_premium.charges`` for the month, under today's
eligibility: the same number a billing run would put on a list-billed group's premium
lines. The invoice is built like a billing run's premium lines (``billing_run.Line``), with
what the group remitted for each subscriber in the line's explanation, issued at once and
entered with ``ledger.post_invoice`` (the one place that enters invoices).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services import expected_premium, ledger
from api.services.audit import AuditTrail
from api.services.billing_run import Line
from api.services.dates import utc_now
from api.services.money import format_usd
from api.services.remittance_rules import ExpectedLine, RosterLine
from api.services.rules import Problem, RuleViolation
from db.models import Invoice, InvoiceLine, InvoiceLineKind, InvoiceStatus, Member


@dataclass(frozen=True, slots=True)
class Expected:
    """The month's expected charges with each subscriber's carrier member ID."""

    charges: tuple[expected_premium.Charge, ...]
    member_ids: dict[int, str]

    @property
    def total_cents(self) -> int:
        return sum(charge.rate_cents or 0 for charge in self.charges)

    @property
    def lines(self) -> list[ExpectedLine]:
        return [
            ExpectedLine(self.member_ids[c.subscriber_pk], c.plan_code, c.tier, c.rate_cents or 0)
            for c in self.charges
        ]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the charges: a decision later can tell whether eligibility changed."""
        rows = sorted(
            [c.subscriber_pk, c.group_plan_id, c.tier.value, c.rate_schedule_id, c.rate_cents]
            for c in self.charges
        )
        return hashlib.sha256(orjson.dumps(rows)).hexdigest()


async def expected_for(session: AsyncSession, group_id: int, month: dt.date) -> Expected:
    """The month's charges; ``RATE_MISSING`` when a subscriber's plan has no rate in force
    on the 1st (the premium cannot be computed until a rep adds the rate schedule)."""
    charges = tuple(await expected_premium.charges(session, [group_id], [month]))
    pks = [charge.subscriber_pk for charge in charges]
    rows = await session.execute(select(Member.id, Member.member_id).where(Member.id.in_(pks)))
    member_ids = {int(pk): str(member_id) for pk, member_id in rows}
    missing = sorted(member_ids[c.subscriber_pk] for c in charges if c.rate_cents is None)
    if missing:
        message = (
            f"No premium rate is in force on {month.isoformat()} for {', '.join(missing[:10])}"
            f"{' and others' if len(missing) > 10 else ''}, so the expected premium cannot be "
            "computed; ask your representative to add the plan's rates, then remit again."
        )
        raise RuleViolation([Problem("RATE_MISSING", message, ("month",))])
    return Expected(charges, member_ids)


async def post_invoice_for(
    session: AsyncSession,
    group_id: int,
    month: dt.date,
    expected: Expected,
    roster: Sequence[RosterLine],
    *,
    user_id: int | None,
    audit: AuditTrail,
) -> Invoice:
    """An ISSUED invoice for ``month`` (due on its 1st) at the expected premium, entered in
    the ledger (which applies any credit the group has)."""
    invoice = Invoice(group_id=group_id, month=month, status=InvoiceStatus.ISSUED,
                      due_date=month, total_cents=expected.total_cents,
                      issued_at=utc_now())  # fmt: skip
    session.add(invoice)
    await session.flush()
    remitted = {line.member_id: line for line in roster}
    lines = [_line(c, remitted.get(expected.member_ids[c.subscriber_pk])) for c in expected.charges]
    if lines:
        await session.execute(insert(InvoiceLine), [line.row(invoice.id) for line in lines])
    await ledger.post_invoice(session, invoice=invoice, user_id=user_id, audit=audit)
    return invoice


def _line(charge: expected_premium.Charge, remitted: RosterLine | None) -> Line:
    cents = charge.rate_cents or 0
    what = f"{charge.plan_code} at {charge.tier.value} on {charge.month:%d %B %Y}"
    sent = (
        f"the group remitted {format_usd(remitted.amount_cents)} for this subscriber"
        if remitted is not None
        else "this subscriber was not on the group's remittance"
    )
    explanation = (
        f"{what}: {format_usd(cents)} (rate schedule {charge.rate_schedule_id}); self-billed: "
        f"{sent}."
    )
    return Line(
        charge.subscriber_pk, charge.month, InvoiceLineKind.PREMIUM, charge.group_plan_id,
        charge.tier, charge.rate_schedule_id, charge.rate_cents, cents, explanation,
    )  # fmt: skip
