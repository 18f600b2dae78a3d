"""Terminating a group (SPEC §2 Billing: "all coverage ends on the termination date; a
final invoice with retro credits is produced; a remaining credit balance becomes a premium
refund for a rep to issue").

In one transaction: every coverage span of the group ends on the termination date (spans
that would start later are dropped, as the eligibility engine drops them), its members
and the group become TERMINATED, the final invoice is built by the billing run's rules
for the first month not yet invoiced and issued (a credit when it only returns premium
billed past the date), and a credit left on the ledger becomes a PENDING refund.

The date is the last day of a month, not before the group's start, and at most the end
of the current month: a group billed for later months is credited for them on the final
invoice, while a group still covered next month must stay ACTIVE until then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.services import billing_run, invoices, ledger
from api.services.audit import AuditTrail
from api.services.balances import balances
from api.services.bank_data import BankDataCipher
from api.services.dates import add_months, as_date, is_last_of_month, last_of_month, utc_now
from api.services.expected_premium import NOT_BILLED
from api.services.rules import Problem, refuse_if
from db.models import (
    Coverage,
    CoverageEnding,
    Group,
    GroupStatus,
    Invoice,
    InvoiceStatus,
    Member,
    MemberStatus,
    Refund,
)


@dataclass(frozen=True, slots=True)
class Termination:
    """What terminating the group produced."""

    group: Group
    final_invoice: Invoice | None
    refund: Refund | None


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who terminates, and what issuing the final invoice needs."""

    user_id: int | None
    audit: AuditTrail
    now: dt.datetime
    carrier: str
    cipher: BankDataCipher


async def terminate(
    session: AsyncSession, group: Group, *, last_day: dt.date, reason: str, issuer: Issuer
) -> Termination:
    refuse_if(_problems(group, last_day, reason.strip(), issuer.now.date()))
    await ledger.lock_group(session, group.id)
    await _end_coverage(session, group.id, last_day)
    group.status, group.termination_date = GroupStatus.TERMINATED, last_day
    await _void_drafts(session, group.id, issuer.now)
    await session.flush()
    final = await _final_invoice(session, group, last_day, issuer)
    refund = await _refund_credit(session, group, reason.strip())
    issuer.audit.record("group.terminate", target_type="Group", target_id=group.group_number,
                        changes={"terminationDate": last_day.isoformat(), "reason": reason,
                                 "finalInvoice": final.id if final else None,
                                 "refundCents": refund.amount_cents if refund else 0})  # fmt: skip
    return Termination(group, final, refund)


def _problems(group: Group, last_day: dt.date, reason: str, today: dt.date) -> list[Problem]:
    field = ("terminationDate",)
    if group.status is GroupStatus.TERMINATED:
        return [Problem("GROUP_TERMINATED", f"{group.group_number} is already terminated.")]
    problems = [] if reason else [Problem("REASON_REQUIRED", "Say why.", ("reason",))]
    if not is_last_of_month(last_day):
        message = "Coverage ends on the last day of a month; pick the month's last day."
        problems.append(Problem("NOT_LAST_OF_MONTH", message, field))
    elif last_day < group.effective_date:
        message = f"The group starts on {group.effective_date.isoformat()}; end it on or after."
        problems.append(Problem("BEFORE_GROUP_EFFECTIVE_DATE", message, field))
    elif last_day > last_of_month(today):
        message = (
            "A group is terminated at the latest at the end of this month "
            f"({last_of_month(today).isoformat()}); terminate it then."
        )
        problems.append(Problem("TOO_FAR_AHEAD", message, field))
    return problems


async def _end_coverage(session: AsyncSession, group_id: int, last_day: dt.date) -> None:
    """Set-based: every span of the group's members ends by ``last_day``, after a copy of
    each span it changes is kept (``CoverageEnding``) for a reinstatement to restore."""
    members = select(Member.id).where(Member.group_id == group_id)
    mine = Coverage.member_id.in_(members)
    await _keep_endings(session, group_id, last_day, mine)
    await session.execute(delete(Coverage).where(mine, Coverage.effective_date > last_day))
    ending = (Coverage.termination_date.is_(None)) | (Coverage.termination_date > last_day)
    await session.execute(update(Coverage).where(mine, ending).values(termination_date=last_day))
    await session.execute(
        update(Member)
        .where(Member.group_id == group_id, Member.status == MemberStatus.ACTIVE)
        .values(status=MemberStatus.TERMINATED)
    )


async def _keep_endings(
    session: AsyncSession, group_id: int, last_day: dt.date, mine: ColumnElement[bool]
) -> None:
    """One INSERT ... SELECT: the spans about to be shortened (with their id) or removed
    (without: the row goes), with the member's status before the termination."""
    changed = Coverage.termination_date.is_(None) | (Coverage.termination_date > last_day)
    removed = Coverage.effective_date > last_day
    rows = (
        select(
            literal(group_id), case((removed, None), else_=Coverage.id), Coverage.member_id,
            Coverage.group_plan_id, Coverage.tier, Coverage.effective_date,
            Coverage.termination_date, Member.status, literal(last_day),
        )
        .join(Member, Member.id == Coverage.member_id)
        .where(mine, changed)
    )  # fmt: skip
    columns = ["group_id", "coverage_id", "member_id", "group_plan_id", "tier", "effective_date",
               "previous_termination_date", "member_status", "ended_on"]  # fmt: skip
    await session.execute(insert(CoverageEnding).from_select(columns, rows))


async def _void_drafts(session: AsyncSession, group_id: int, now: dt.datetime) -> None:
    """Drafts built before the termination would bill months it ends: the final invoice
    bills whatever is still owed instead."""
    await session.execute(
        update(Invoice)
        .where(Invoice.group_id == group_id, Invoice.status == InvoiceStatus.DRAFT)
        .values(status=InvoiceStatus.VOID, voided_at=now,
                void_reason="Replaced by the final invoice of the group's termination.")
        .execution_options(synchronize_session=False)
    )  # fmt: skip


async def _final_invoice(
    session: AsyncSession, group: Group, last_day: dt.date, issuer: Issuer
) -> Invoice | None:
    """The first month after the date and after every issued invoice, billed and issued."""
    latest: object = await session.scalar(
        select(func.max(Invoice.month)).where(
            Invoice.group_id == group.id, Invoice.status.not_in(NOT_BILLED)
        )
    )
    month = last_day + dt.timedelta(days=1)
    if latest is not None:
        month = max(month, add_months(as_date(latest), 1))
    result = await billing_run.bill_group(session, group.id, month)
    if result.invoice_id is None:
        return None
    invoice = await invoices.locked_invoice(session, result.invoice_id)
    return await invoices.issue(
        session, invoice, user_id=issuer.user_id, audit=issuer.audit, now=issuer.now,
        carrier=issuer.carrier, cipher=issuer.cipher, final=True,
    )  # fmt: skip


async def _refund_credit(session: AsyncSession, group: Group, reason: str) -> Refund | None:
    """The group's credit (a negative ledger total) as a PENDING refund."""
    account = (await balances(session, group_ids=[group.id], as_of=utc_now().date()))[group.id]
    credit = -account.total
    if credit <= 0:
        return None
    refund = Refund(group_id=group.id, amount_cents=credit, reason=f"Group terminated: {reason}")
    session.add(refund)
    await session.flush()
    return refund
