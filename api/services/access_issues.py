"""Reporting an access issue (SPEC §2 Web access; issue 9): anyone may report one, signed
in or not, because a locked-out user cannot sign in.

- A report is checked whole (category, description 10..4000 characters, one email address,
  a name, an optional group number) and refused with every problem at once.
- A signed-in reporter's issue is linked to their account: the email and name are the
  account's (what they typed is ignored) and the account is the issue's subject.
- The reference (``AI-`` + 6 characters without look-alikes such as 0/O and 1/I/L) is
  what the reporter quotes; it is random, so it says nothing about how many issues exist.
- The first response is due ``settings.access_first_response_business_days`` business
  days later at the same time of day (weekends and US federal holidays skipped).
- The confirmation email is recorded in the same transaction (the outbox).

Rate limits are ``api.services.access_issue_limits``; the staff workflow is
``api.services.access_issue_workflow``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.business_days import add_business_days
from api.services.mail import enqueue_email
from api.services.rules import Problem, refuse_if
from api.services.users import email_key
from api.settings import Settings
from db.models import AccessIssue, AccessIssueCategory, AccessIssueStatus, User

REFERENCE_PREFIX = "AI-"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6
REFERENCE_ATTEMPTS = 5
MIN_DESCRIPTION, MAX_DESCRIPTION = 10, 4000
MAX_NAME, MAX_EMAIL, MAX_GROUP_NUMBER = 200, 320, 20
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
GROUP_NUMBER = re.compile(r"^[A-Z0-9-]+$")
CONFIRMATION_EMAIL = "access_issue.confirmation"
CATEGORY_LABELS = {
    AccessIssueCategory.CANT_LOG_IN: "you can't sign in",
    AccessIssueCategory.LOCKED_OUT: "your account is locked",
    AccessIssueCategory.LOST_MFA: "you lost your authenticator app",
    AccessIssueCategory.MISSING_PERMISSION: "you are missing a permission",
    AccessIssueCategory.OTHER: "a portal access problem",
}


@dataclass(frozen=True, slots=True)
class Report:
    """What the reporter sent, as typed (``category`` as its enum name)."""

    category: str
    description: str
    email: str = ""
    name: str = ""
    group_number: str | None = None


def first_response_due(created: dt.datetime, business_days: int) -> dt.datetime:
    """``business_days`` business days after ``created``, at the same time of day (UTC)."""
    day = add_business_days(created.date(), business_days)
    return dt.datetime.combine(day, created.timetz())


def is_breached(issue: AccessIssue, now: dt.datetime) -> bool:
    """No first response by the due time: still true after a late response, so the breach
    stays visible."""
    responded = issue.first_responded_at
    return (responded or now) > issue.first_response_due_at


async def report(
    session: AsyncSession,
    *,
    sent: Report,
    reporter: User | None,
    ip: str | None,
    settings: Settings,
    now: dt.datetime,
) -> AccessIssue:
    """Record the issue and its confirmation email, or raise ``RuleViolation``."""
    if reporter is not None:
        sent = Report(
            sent.category, sent.description, reporter.email, reporter.name, sent.group_number
        )
    category = _category(sent.category)
    refuse_if(report_problems(sent, category))
    issue = AccessIssue(
        reference=await _unique_reference(session),
        category=category,
        status=AccessIssueStatus.OPEN,
        description=sent.description.strip(),
        reporter_user_id=reporter.id if reporter else None,
        subject_user_id=reporter.id if reporter else None,
        reporter_email=sent.email.strip(),
        reporter_email_key=email_key(sent.email),
        reporter_name=sent.name.strip(),
        group_number=_group_number(sent.group_number),
        first_response_due_at=first_response_due(now, settings.access_first_response_business_days),
        ip=ip,
        created_at=now,
    )
    session.add(issue)
    await session.flush()
    _confirm(session, issue, now)
    return issue


def report_problems(sent: Report, category: AccessIssueCategory | None) -> list[Problem]:
    """Everything wrong with a report, each with the field at fault."""
    problems = (
        [] if category else [Problem("INVALID_CATEGORY", "Choose a category.", ("category",))]
    )
    description = sent.description.strip()
    if not MIN_DESCRIPTION <= len(description) <= MAX_DESCRIPTION:
        message = (
            f"Describe the problem in {MIN_DESCRIPTION} to {MAX_DESCRIPTION} characters: "
            "what you tried and what happened."
        )
        problems.append(Problem("INVALID_DESCRIPTION", message, ("description",)))
    email = sent.email.strip()
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        message = "Give the email address you sign in with, e.g. `pat@example.com`."
        problems.append(Problem("INVALID_EMAIL", message, ("email",)))
    if not sent.name.strip() or len(sent.name.strip()) > MAX_NAME:
        message = f"Give your name (up to {MAX_NAME} characters)."
        problems.append(Problem("INVALID_NAME", message, ("name",)))
    return problems + _group_number_problems(sent.group_number)


def _group_number_problems(value: str | None) -> list[Problem]:
    number = _group_number(value)
    if number is None or (len(number) <= MAX_GROUP_NUMBER and GROUP_NUMBER.match(number)):
        return []
    message = "Give your group number as printed on your invoice (e.g. `G100234`), or leave it out."
    return [Problem("INVALID_GROUP_NUMBER", message, ("groupNumber",))]


def _group_number(value: str | None) -> str | None:
    return value.strip().upper() or None if value else None


def _category(value: str) -> AccessIssueCategory | None:
    try:
        return AccessIssueCategory(value)
    except ValueError:
        return None


def new_reference() -> str:
    """``AI-`` and 6 characters drawn with ``secrets`` from an alphabet without look-alikes."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return REFERENCE_PREFIX + body


async def _unique_reference(session: AsyncSession) -> str:
    """A reference no issue has yet (31**6 ≈ 887 million of them: a clash is rare, retried;
    the unique constraint is the last word)."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = new_reference()
        taken = await session.scalar(
            select(AccessIssue.id).where(AccessIssue.reference == reference)
        )
        if taken is None:
            return reference
    raise RuntimeError("no free access-issue reference after several attempts")


def _confirm(session: AsyncSession, issue: AccessIssue, now: dt.datetime) -> None:
    enqueue_email(
        session,
        kind=CONFIRMATION_EMAIL,
        to=issue.reporter_email,
        subject=f"We received your portal access request {issue.reference}",
        body_text=_confirmation_text(issue),
        related_type="AccessIssue",
        related_id=str(issue.id),
        now=now,
    )


def _confirmation_text(issue: AccessIssue) -> str:
    due = issue.first_response_due_at.strftime("%A %d %B %Y, %H:%M UTC")
    return (
        f"Hello {issue.reporter_name},\n\n"
        f"We received your report that {CATEGORY_LABELS[issue.category]}. "
        f"Your reference is {issue.reference}: quote it whenever you contact us.\n\n"
        "What happens next: the portal support team will look into it and reply to this "
        f"email address by {due}. If your account is locked or you lost your authenticator "
        "app, they can unlock it, send you a password-reset link or reset your "
        "authenticator.\n\n"
        "We will never ask for your password or your authenticator codes. If you did not "
        "send this report, you can ignore this email.\n"
    )
