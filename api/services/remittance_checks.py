"""The checks of a remittance and of a decision on one, each refusal a ``Problem`` with a
plain-English message (``api.services.remittances`` raises them before writing anything).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.billing_run import generation_opens
from api.services.money import format_usd
from api.services.remittance_rules import RosterLine, roster_problems
from api.services.rules import Problem
from db.models import (
    BillingMode,
    Group,
    GroupStatus,
    Invoice,
    InvoiceStatus,
    Remittance,
    RemittanceStatus,
)

MAX_KEY = 100
MAX_REASON = 1000


def input_problems(
    *, key: str, amount_cents: int, lines: Sequence[RosterLine], checked: bool
) -> list[Problem]:
    """The key, the amount and (unless ``checked`` as a CSV was read) the roster."""
    problems = [] if key.strip() and len(key) <= MAX_KEY else [KEY_INVALID]
    if amount_cents < 0:
        problems.append(AMOUNT_NEGATIVE)
    if not checked:
        problems += roster_problems(lines, csv=False)
    total = sum(line.amount_cents for line in lines)
    if lines and total != amount_cents:
        problems.append(_not_the_sum(amount_cents, total))
    return problems


def group_problems(group: Group, month: dt.date, today: dt.date) -> list[Problem]:
    """Whether the group remits, and this month (its 1st) now."""
    if group.billing_mode is not BillingMode.SELF_BILL:
        return [NOT_SELF_BILLED]
    if group.status is GroupStatus.PENDING_SETUP:
        return [GROUP_NOT_ACTIVE]
    ends = group.termination_date
    if month < group.effective_date.replace(day=1) or (ends is not None and month > ends):
        return [_outside_coverage(group, month)]
    opens = generation_opens(month)  # as its invoice would be
    if today < opens:
        message = (
            f"A remittance for {month:%B %Y} is taken from {opens.isoformat()}; send it "
            "then, or remit an earlier month now."
        )
        return [Problem("TOO_EARLY", message, ("month",))]
    return []


async def month_problems(session: AsyncSession, group_id: int, month: dt.date) -> list[Problem]:
    """The month is neither accepted already nor invoiced otherwise."""
    accepted = await session.scalar(
        select(Remittance.id).where(
            Remittance.group_id == group_id,
            Remittance.month == month,
            Remittance.status == RemittanceStatus.ACCEPTED,
        )
    )
    if accepted is not None:
        return [_already_accepted(month)]
    return await billed_problems(session, group_id, month)


async def billed_problems(session: AsyncSession, group_id: int, month: dt.date) -> list[Problem]:
    """An invoice for the month that is not void (say, from before the group self-billed)."""
    stmt = select(Invoice.id).where(
        Invoice.group_id == group_id, Invoice.month == month, Invoice.status != InvoiceStatus.VOID
    )
    if await session.scalar(stmt.limit(1)) is None:
        return []
    message = (
        f"The group already has an invoice for {month:%B %Y}; a representative must void it "
        "(or correct it with adjustments) before a remittance can be posted for the month."
    )
    return [Problem("MONTH_ALREADY_BILLED", message, ("month",))]


def reason_problems(reason: str) -> list[Problem]:
    if not reason.strip():
        return [REASON_REQUIRED]
    return [REASON_TOO_LONG] if len(reason) > MAX_REASON else []


def _not_the_sum(amount: int, total: int) -> Problem:
    message = (
        f"The amount {format_usd(amount)} is not the sum of the lines ({format_usd(total)}); "
        "send the amount the lines add up to, or correct the lines."
    )
    return Problem("AMOUNT_NOT_SUM_OF_LINES", message, ("amount",))


def _outside_coverage(group: Group, month: dt.date) -> Problem:
    ends = f" to {group.termination_date.isoformat()}" if group.termination_date else ""
    message = (
        f"The group is covered from {group.effective_date.isoformat()}{ends}; remit a month "
        f"in that period, not {month:%B %Y}."
    )
    return Problem("MONTH_OUTSIDE_COVERAGE", message, ("month",))


def _already_accepted(month: dt.date) -> Problem:
    message = (
        f"The remittance for {month:%B %Y} is already accepted and posted; a correction is "
        "made by a representative with an adjustment, not by remitting the month again."
    )
    return Problem("ALREADY_ACCEPTED", message, ("month",))


def expected_changed(remittance: Remittance, now_cents: int) -> Problem:
    message = (
        f"Eligibility for {remittance.month:%B %Y} changed since the remittance was submitted "
        f"(expected then {format_usd(remittance.expected_cents)}, now "
        f"{format_usd(now_cents)}); reject it and ask the group to submit again, "
        "so that its differences are current."
    )
    return Problem("EXPECTED_CHANGED", message)


KEY_INVALID = Problem(
    "IDEMPOTENCY_KEY_INVALID",
    f"Send an idempotency key of 1 to {MAX_KEY} characters, new for each new remittance.",
    ("idempotencyKey",),
)
KEY_REUSED = Problem(
    "IDEMPOTENCY_KEY_REUSED",
    "This idempotency key was already used for a different remittance; use a new key for a "
    "new remittance (reuse a key only to retry the very same one).",
    ("idempotencyKey",),
)
AMOUNT_NEGATIVE = Problem(
    "AMOUNT_NEGATIVE", "The amount remitted cannot be negative; send 0 or more.", ("amount",)
)
NOT_SELF_BILLED = Problem(
    "NOT_SELF_BILLED",
    "This group is list-billed: the carrier bills it from eligibility; pay its invoices "
    "instead of remitting.",
    ("groupId",),
)
GROUP_NOT_ACTIVE = Problem(
    "GROUP_NOT_ACTIVE",
    "The group is still being set up; remit once a representative has activated it.",
    ("groupId",),
)
NOT_FOUND = Problem("REMITTANCE_NOT_FOUND", "There is no such remittance.", ("id",))
NOT_AN_EXCEPTION = Problem(
    "NOT_AN_EXCEPTION",
    "Only a remittance waiting as an exception can be decided; this one is already "
    "accepted, rejected or superseded.",
    ("id",),
)
REASON_REQUIRED = Problem(
    "REASON_REQUIRED",
    "Say why in a few words: the reason for accepting, or the message for the group.",
    ("reason",),
)
REASON_TOO_LONG = Problem(
    "REASON_TOO_LONG", f"Keep the reason under {MAX_REASON} characters.", ("reason",)
)
