"""Rep adjustments and write-offs (SPEC §2 Billing: account ledger; issue 7: "rep
adjustments, reason codes, audited, and write-offs"). Both are new ledger entries, never
edits of an invoice: issued invoices are immutable, corrections flow as entries.

An adjustment belongs to the group, not to an invoice: positive charges the group
(a late fee), negative credits it (goodwill). It moves the balance's total but no invoice's
open amount. A write-off belongs to one invoice: it lowers what that invoice asks, at most
by what is still open on it, and an invoice written off to nothing is settled (PAID).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.dates import today
from api.services.delinquency.reassess import after_money
from api.services.ledger import enter, lock_group, refresh_statuses
from api.services.open_items import InvoiceMoney, invoice_money
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import Invoice, LedgerEntry, LedgerEntryKind, LedgerReason

MAX_MEMO = 2000


async def post_adjustment(
    session: AsyncSession,
    *,
    group_id: int,
    amount_cents: int,
    reason_code: LedgerReason,
    memo: str,
    user_id: int | None,
    audit: AuditTrail,
    entry_date: dt.date | None = None,
) -> LedgerEntry:
    """Enter a rep's adjustment of ``amount_cents`` (signed, see the module docstring)."""
    refuse_if([*_amount_problems(amount_cents), *_memo_problems(memo)])
    await lock_group(session, group_id)
    entry = await enter(
        session,
        group_id=group_id,
        kind=LedgerEntryKind.ADJUSTMENT,
        amount_cents=amount_cents,
        entry_date=entry_date or today(),
        user_id=user_id,
        reason_code=reason_code,
        memo=memo.strip(),
    )
    await after_money(session, group_id, on=entry.entry_date, audit=audit, user_id=user_id)
    _audit(audit, "ledger.adjustmentPost", "Group", group_id, entry)
    return entry


async def write_off(
    session: AsyncSession,
    *,
    invoice_id: int,
    reason_code: LedgerReason,
    memo: str,
    user_id: int | None,
    audit: AuditTrail,
    amount_cents: int | None = None,
    entry_date: dt.date | None = None,
) -> LedgerEntry:
    """Write off ``amount_cents`` (positive; all that is open when omitted) of an entered
    invoice: a negative entry naming the invoice."""
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise RuleViolation([INVOICE_NOT_FOUND])
    await lock_group(session, invoice.group_id)
    money = (await invoice_money(session, invoice.group_id, [invoice.id])).get(invoice.id)
    cents = _write_off_amount(money, amount_cents)
    refuse_if([*_write_off_problems(money, cents), *_memo_problems(memo)])
    entry = await enter(
        session,
        group_id=invoice.group_id,
        kind=LedgerEntryKind.WRITE_OFF,
        amount_cents=-cents,
        entry_date=entry_date or today(),
        user_id=user_id,
        invoice_id=invoice.id,
        reason_code=reason_code,
        memo=memo.strip(),
    )
    await refresh_statuses(session, invoice.group_id, [invoice.id])
    await after_money(session, invoice.group_id, on=entry.entry_date, audit=audit, user_id=user_id)
    _audit(audit, "ledger.writeOff", "Invoice", invoice.id, entry)
    return entry


def _amount_problems(amount_cents: int) -> list[Problem]:
    return [AMOUNT_ZERO] if amount_cents == 0 else []


def _memo_problems(memo: str) -> list[Problem]:
    if not memo.strip():
        return [MEMO_MISSING]
    return [MEMO_TOO_LONG] if len(memo) > MAX_MEMO else []


def _write_off_amount(money: InvoiceMoney | None, amount_cents: int | None) -> int:
    """The amount asked for, or all that is open on the invoice when none was given."""
    if amount_cents is not None:
        return amount_cents
    return money.open_cents if money is not None else 0


def _write_off_problems(money: InvoiceMoney | None, cents: int) -> list[Problem]:
    if money is None:
        return [INVOICE_NOT_POSTED]
    if money.open_cents <= 0:
        return [NOTHING_OPEN]
    if not 0 < cents <= money.open_cents:
        return [WRITE_OFF_OUT_OF_RANGE]
    return []


def _audit(audit: AuditTrail, action: str, target: str, pk: int, entry: LedgerEntry) -> None:
    audit.record(
        action,
        target_type=target,
        target_id=str(pk),
        changes={
            "entry": entry.id,
            "amountCents": entry.amount_cents,
            "reasonCode": None if entry.reason_code is None else entry.reason_code.value,
        },
    )


AMOUNT_ZERO = Problem(
    "AMOUNT_ZERO",
    "An adjustment of zero changes nothing; enter a positive amount to charge the group "
    "or a negative one to credit it.",
    ("amount",),
)
MEMO_MISSING = Problem(
    "MEMO_MISSING",
    "Say in a few words why the entry is made; it is shown on the ledger.",
    ("memo",),
)
MEMO_TOO_LONG = Problem("MEMO_TOO_LONG", f"Keep the memo under {MAX_MEMO} characters.", ("memo",))
INVOICE_NOT_FOUND = Problem("INVOICE_NOT_FOUND", "There is no such invoice; check the invoice.")
INVOICE_NOT_POSTED = Problem(
    "INVOICE_NOT_POSTED",
    "Only an issued invoice can be written off; a draft can simply be regenerated.",
    ("invoiceId",),
)
NOTHING_OPEN = Problem(
    "NOTHING_OPEN", "Nothing is open on this invoice; there is nothing to write off."
)
WRITE_OFF_OUT_OF_RANGE = Problem(
    "WRITE_OFF_OUT_OF_RANGE",
    "Write off a positive amount no larger than what is open on the invoice.",
    ("amount",),
)
