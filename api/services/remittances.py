"""Self-billed remittances (SPEC §2 Billing: "Self-billed groups"; issue 7): a
``SELF_BILL`` group remits for month M an amount and a roster; the system computes the
expected premium, accepts the remittance when the variance is within the exception
threshold, and otherwise holds it as an EXCEPTION for a rep. Callers commit.

Ledger rule on acceptance (automatic, or a rep's "accept with adjustment"):

1. The premium owed is the carrier's number: the expected premium under eligibility on
   the 1st of M (``expected_premium.charges``). An ISSUED invoice for M is created with
   one PREMIUM line per expected charge (rate schedule, tier and what the group remitted
   for the subscriber in its explanation) and entered with ``ledger.post_invoice``.
2. The tolerated variance (remitted - expected) is trued up with reason
   ``SELF_BILL_TRUE_UP`` so the ledger charges the month exactly what the group remitted:
   - remitted *less* (variance < 0): a WRITE_OFF of the variance on the month's invoice,
     so the invoice itself asks what was remitted and is PAID once that money arrives (a
     group-level credit adjustment would leave the shortfall open on the invoice, past due
     and chased by the delinquency run). What is no longer open on the invoice (credit the
     group already had paid it) is credited as an ADJUSTMENT instead;
   - remitted *more* (variance > 0): an ADJUSTMENT charging the variance to the group;
   - no variance: no true-up entry.
   E.g. expected $160.00, remitted $150.00: INVOICE +16000, WRITE_OFF -1000; the ledger
   sums to 15000, and a payment of $150.00 leaves it at 0 with the invoice PAID.

Other rules:

- One open remittance per group and month: submitting while one is ACCEPTED is refused
  (ALREADY_ACCEPTED); a new submission while one is an EXCEPTION supersedes it (the old
  one becomes SUPERSEDED, the new one names it and is evaluated afresh); REJECTED ones are
  history. A database index enforces it too.
- Idempotent by (group, idempotency key): the same key and the same input (month, amount
  and lines, however sent) return the first remittance as it is now; other input is
  refused. The group's row is locked first, so concurrent submissions of a group run one
  after the other.
- A rep's ACCEPT posts as above (the threshold no longer applies) after checking that the
  expected charges are still those the remittance was compared with; REJECT posts nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services import remittance_checks as checks
from api.services import remittance_rules as rules
from api.services.adjustments import MAX_MEMO, post_adjustment, write_off
from api.services.audit import AuditTrail
from api.services.dates import utc_now
from api.services.ledger import lock_group
from api.services.money import format_usd
from api.services.open_items import invoice_money
from api.services.remittance_expected import Expected, expected_for, post_invoice_for
from api.services.rules import RuleViolation, refuse_if
from db.models import (
    Group,
    Invoice,
    LedgerReason,
    Remittance,
    RemittanceDecision,
    RemittanceDifference,
    RemittanceLine,
    RemittanceSource,
    RemittanceStatus,
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The default exception threshold: a floor in cents and a whole percentage."""

    floor_cents: int
    percent: int

    def for_group(self, group: Group) -> Thresholds:
        """The group's own values where it has them."""
        floor = group.remittance_threshold_cents
        percent = group.remittance_threshold_percent
        return Thresholds(
            self.floor_cents if floor is None else floor,
            self.percent if percent is None else percent,
        )


@dataclass(frozen=True, slots=True)
class Submission:
    month: dt.date
    amount_cents: int
    lines: tuple[rules.RosterLine, ...]
    source: RemittanceSource
    idempotency_key: str

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what makes the remittance (the group and key scope it already)."""
        lines = [[ln.member_id, ln.plan_code, ln.tier.value, ln.amount_cents] for ln in self.lines]
        canonical = orjson.dumps([self.month.replace(day=1).isoformat(), self.amount_cents, lines])
        return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class Submitted:
    """``replayed``: the remittance an earlier request with the same key created."""

    remittance: Remittance
    replayed: bool
    superseded_id: int | None = None


async def submit(
    session: AsyncSession,
    *,
    group: Group,
    submission: Submission,
    defaults: Thresholds,
    user_id: int | None,
    audit: AuditTrail,
    today: dt.date,
) -> Submitted:
    """Evaluate and store a remittance; post it when accepted (module docstring)."""
    month = submission.month.replace(day=1)
    refuse_if(
        checks.input_problems(
            key=submission.idempotency_key, amount_cents=submission.amount_cents,
            lines=submission.lines, checked=submission.source is RemittanceSource.CSV,
        )
    )  # fmt: skip
    await lock_group(session, group.id)
    stored = await _by_key(session, group.id, submission.idempotency_key)
    if stored is not None:
        if stored.request_fingerprint != submission.fingerprint:
            raise RuleViolation([checks.KEY_REUSED])
        return Submitted(stored, replayed=True)
    refuse_if(checks.group_problems(group, month, today))
    refuse_if(await checks.month_problems(session, group.id, month))
    expected = await expected_for(session, group.id, month)
    superseded = await _supersede(session, group.id, month)
    remittance = _evaluated(group, month, submission, expected, defaults.for_group(group))
    remittance.submitted_by_user_id, remittance.supersedes_id = user_id, superseded
    if rules.within(remittance.variance_cents, remittance.threshold_cents):
        memo = (
            f"{_said(remittance)}; the variance is within the "
            f"{format_usd(remittance.threshold_cents)} exception threshold."
        )
        invoice = await _post(session, remittance, expected, submission.lines, memo, user_id, audit)
        remittance.status, remittance.invoice_id = RemittanceStatus.ACCEPTED, invoice.id
    session.add(remittance)
    await session.flush()
    await _store_roster(session, remittance, expected, submission.lines)
    return Submitted(remittance, replayed=False, superseded_id=superseded)


def _evaluated(
    group: Group,
    month: dt.date,
    submission: Submission,
    expected: Expected,
    threshold: Thresholds,
) -> Remittance:
    """The remittance as an EXCEPTION, with the threshold that applies to it."""
    threshold_cents = rules.threshold_cents(
        expected.total_cents, floor_cents=threshold.floor_cents, percent=threshold.percent
    )
    return Remittance(
        group_id=group.id, month=month, status=RemittanceStatus.EXCEPTION,
        source=submission.source, amount_cents=submission.amount_cents,
        expected_cents=expected.total_cents, threshold_cents=threshold_cents,
        idempotency_key=submission.idempotency_key,
        request_fingerprint=submission.fingerprint, expected_fingerprint=expected.fingerprint,
    )  # fmt: skip


async def resolve(
    session: AsyncSession,
    *,
    remittance_id: int,
    decision: RemittanceDecision,
    reason: str,
    user_id: int | None,
    audit: AuditTrail,
) -> Remittance:
    """A rep's decision on an EXCEPTION: ACCEPT posts it as an accepted remittance (with
    the rep's reason on the true-up), REJECT records the message for the group."""
    refuse_if(checks.reason_problems(reason))
    remittance = await session.get(Remittance, remittance_id)
    if remittance is None:
        raise RuleViolation([checks.NOT_FOUND])
    await lock_group(session, remittance.group_id)
    await session.refresh(remittance)  # as of the lock: a concurrent decision has committed
    if remittance.status is not RemittanceStatus.EXCEPTION:
        raise RuleViolation([checks.NOT_AN_EXCEPTION])
    if decision is RemittanceDecision.ACCEPT:
        await _accept(session, remittance, reason.strip(), user_id, audit)
    else:
        remittance.status = RemittanceStatus.REJECTED
    remittance.decision, remittance.resolution_reason = decision, reason.strip()
    remittance.resolved_by_user_id, remittance.resolved_at = user_id, utc_now()
    await session.flush()
    return remittance


async def _accept(
    session: AsyncSession,
    remittance: Remittance,
    reason: str,
    user_id: int | None,
    audit: AuditTrail,
) -> None:
    refuse_if(await checks.billed_problems(session, remittance.group_id, remittance.month))
    expected = await expected_for(session, remittance.group_id, remittance.month)
    if expected.fingerprint != remittance.expected_fingerprint:
        raise RuleViolation([checks.expected_changed(remittance, expected.total_cents)])
    roster = await _roster(session, remittance.id)
    memo = f"{_said(remittance)}; accepted by a representative: {reason}"[:MAX_MEMO]
    invoice = await _post(session, remittance, expected, roster, memo, user_id, audit)
    remittance.status, remittance.invoice_id = RemittanceStatus.ACCEPTED, invoice.id


async def _post(
    session: AsyncSession,
    remittance: Remittance,
    expected: Expected,
    roster: tuple[rules.RosterLine, ...],
    memo: str,
    user_id: int | None,
    audit: AuditTrail,
) -> Invoice:
    """The month's invoice at the expected premium, then the true-up (module docstring)."""
    invoice = await post_invoice_for(
        session, remittance.group_id, remittance.month, expected, roster,
        user_id=user_id, audit=audit,
    )  # fmt: skip
    await _true_up(session, invoice, remittance.variance_cents, memo, user_id, audit)
    return invoice


async def _true_up(
    session: AsyncSession,
    invoice: Invoice,
    variance: int,
    memo: str,
    user_id: int | None,
    audit: AuditTrail,
) -> None:
    reason = LedgerReason.SELF_BILL_TRUE_UP
    credit = -variance if variance < 0 else 0
    if credit:
        money = (await invoice_money(session, invoice.group_id, [invoice.id]))[invoice.id]
        written = min(credit, money.open_cents)
        if written > 0:
            await write_off(session, invoice_id=invoice.id, reason_code=reason, memo=memo,
                            user_id=user_id, audit=audit, amount_cents=written)  # fmt: skip
        variance += written
    if variance:
        await post_adjustment(
            session, group_id=invoice.group_id, amount_cents=variance, reason_code=reason,
            memo=memo, user_id=user_id, audit=audit,
        )  # fmt: skip


async def _store_roster(
    session: AsyncSession,
    remittance: Remittance,
    expected: Expected,
    roster: tuple[rules.RosterLine, ...],
) -> None:
    """The lines as sent and the differences from eligibility (bulk inserts)."""
    await session.execute(insert(RemittanceLine), [
        {"remittance_id": remittance.id, "position": ln.position, "member_number": ln.member_id,
         "plan_code": ln.plan_code, "tier": ln.tier, "amount_cents": ln.amount_cents}
        for ln in roster
    ])  # fmt: skip
    found = rules.differences(remittance.month, expected.lines, roster)
    if found:
        await session.execute(insert(RemittanceDifference), [
            _difference_row(remittance.id, n, d) for n, d in enumerate(found, start=1)
        ])  # fmt: skip


def _difference_row(remittance_id: int, position: int, d: rules.Difference) -> dict[str, object]:
    owed, sent = d.expected, d.remitted
    return {
        "remittance_id": remittance_id, "position": position, "kind": d.kind,
        "member_number": d.member_id, "message": d.message,
        "expected_plan_code": owed.plan_code if owed else None,
        "expected_tier": owed.tier if owed else None, "expected_cents": d.expected_cents,
        "remitted_plan_code": sent.plan_code if sent else None,
        "remitted_tier": sent.tier if sent else None, "remitted_cents": d.remitted_cents,
    }  # fmt: skip


async def _roster(session: AsyncSession, remittance_id: int) -> tuple[rules.RosterLine, ...]:
    stmt = select(RemittanceLine).where(RemittanceLine.remittance_id == remittance_id)
    rows = await session.scalars(stmt.order_by(RemittanceLine.position))
    return tuple(
        rules.RosterLine(r.position, r.member_number, r.plan_code, r.tier, r.amount_cents)
        for r in rows
    )


async def _supersede(session: AsyncSession, group_id: int, month: dt.date) -> int | None:
    """Mark the month's open EXCEPTION, if any, SUPERSEDED (flushed before the new one is
    inserted, for the one-open-per-month index); its id."""
    stmt = select(Remittance).where(
        Remittance.group_id == group_id,
        Remittance.month == month,
        Remittance.status == RemittanceStatus.EXCEPTION,
    )
    exception: Remittance | None = await session.scalar(stmt)
    if exception is None:
        return None
    exception.status, exception.superseded_at = RemittanceStatus.SUPERSEDED, utc_now()
    await session.flush()
    return exception.id


async def _by_key(session: AsyncSession, group_id: int, key: str) -> Remittance | None:
    stmt = select(Remittance).where(
        Remittance.group_id == group_id, Remittance.idempotency_key == key
    )
    found: Remittance | None = await session.scalar(stmt)
    return found


def _said(remittance: Remittance) -> str:
    return (
        f"Self-bill true-up for {remittance.month:%B %Y}: remitted "
        f"{format_usd(remittance.amount_cents)}, expected {format_usd(remittance.expected_cents)}"
    )
