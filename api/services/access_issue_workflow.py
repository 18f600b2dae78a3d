"""Working an access issue (SPEC §2 Web access; issue 9), for support staff.

Statuses move ``OPEN → IN_PROGRESS → WAITING_ON_CLIENT → RESOLVED``, back and forth
between IN_PROGRESS and WAITING_ON_CLIENT, straight from IN_PROGRESS to RESOLVED (the
fix needed no answer from the client), and a RESOLVED issue re-opens to IN_PROGRESS with
a reason. Every change adds an ``AccessIssueEntry`` (the issue's history); the mutation
audits it.

The first response is the first reply to the reporter or the first status change: both
tell the reporter, or the queue, that someone has picked the issue up. An internal note
or an assignment does not count: the reporter sees neither.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.mail import enqueue_email
from api.services.rules import Problem, RuleViolation, refuse_if
from api.services.users import email_key
from db.models import (
    AccessIssue,
    AccessIssueEntry,
    AccessIssueEntryKind,
    AccessIssueStatus,
    Role,
    User,
    UserRole,
    UserStatus,
)

OPEN, IN_PROGRESS = AccessIssueStatus.OPEN, AccessIssueStatus.IN_PROGRESS
WAITING, RESOLVED = AccessIssueStatus.WAITING_ON_CLIENT, AccessIssueStatus.RESOLVED
TRANSITIONS: dict[AccessIssueStatus, frozenset[AccessIssueStatus]] = {
    OPEN: frozenset({IN_PROGRESS}),
    IN_PROGRESS: frozenset({WAITING, RESOLVED}),
    WAITING: frozenset({IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({IN_PROGRESS}),
}
MAX_BODY = 4000
REPLY_EMAIL = "access_issue.reply"
SUPPORT_ROLES = (Role.SUPPORT, Role.ADMIN)


async def locked_issue(session: AsyncSession, issue_id: int) -> AccessIssue:
    """The issue, locked for the change (PostgreSQL), or ``ISSUE_NOT_FOUND``."""
    stmt = select(AccessIssue).where(AccessIssue.id == issue_id).with_for_update()
    issue = await session.scalar(stmt)
    if issue is None:
        message = "No access issue with this ID; pass the `id` of an issue in the queue."
        raise RuleViolation([Problem("ISSUE_NOT_FOUND", message, ("id",))])
    return issue


async def support_user(session: AsyncSession, email: str) -> User:
    """The active support (or admin) user with this email, or ``ASSIGNEE_NOT_SUPPORT``."""
    return await _support_user(session, User.email_key == email_key(email))


async def support_user_by_id(session: AsyncSession, user_id: int | None) -> User:
    """The caller as an assignee: only a support (or admin) user can take an issue."""
    return await _support_user(session, User.id == (user_id if user_id is not None else -1))


async def _support_user(session: AsyncSession, condition: ColumnElement[bool]) -> User:
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(condition, User.status == UserStatus.ACTIVE, UserRole.role.in_(SUPPORT_ROLES))
    )
    user = (await session.scalars(stmt)).first()
    if user is None:
        message = "Assign the issue to an active member of the support team (their email)."
        raise RuleViolation([Problem("ASSIGNEE_NOT_SUPPORT", message, ("assigneeEmail",))])
    return user


async def assign(
    session: AsyncSession,
    issue: AccessIssue,
    *,
    assignee: User,
    by_user_id: int | None,
    now: dt.datetime,
) -> AccessIssueEntry:
    """Give the issue to ``assignee`` (the history says who assigned it to whom)."""
    issue.assigned_to_user_id = assignee.id
    body = f"Assigned to {assignee.name} ({assignee.email})."
    return await _entry(session, issue, AccessIssueEntryKind.NOTE, body, by_user_id, now)


async def add_note(
    session: AsyncSession,
    issue: AccessIssue,
    *,
    body: str,
    author_user_id: int | None,
    now: dt.datetime,
) -> AccessIssueEntry:
    """An internal note: staff only, never sent to the reporter."""
    text = _checked_body(body)
    return await _entry(session, issue, AccessIssueEntryKind.NOTE, text, author_user_id, now)


async def reply(
    session: AsyncSession,
    issue: AccessIssue,
    *,
    body: str,
    author_user_id: int | None,
    now: dt.datetime,
) -> AccessIssueEntry:
    """A reply emailed to the reporter (through the outbox); a first response."""
    text = _checked_body(body)
    _mark_responded(issue, now)
    entry = await _entry(session, issue, AccessIssueEntryKind.REPLY, text, author_user_id, now)
    enqueue_email(
        session,
        kind=REPLY_EMAIL,
        to=issue.reporter_email,
        subject=f"Your portal access request {issue.reference}",
        body_text=_reply_text(issue, text),
        related_type="AccessIssue",
        related_id=str(issue.id),
        now=now,
    )
    return entry


async def set_status(
    session: AsyncSession,
    issue: AccessIssue,
    *,
    status: AccessIssueStatus,
    reason: str | None,
    author_user_id: int | None,
    now: dt.datetime,
) -> AccessIssueEntry:
    """Move the issue along ``TRANSITIONS``; re-opening a resolved issue needs a reason."""
    reason_text = (reason or "").strip()
    refuse_if(transition_problems(issue.status, status, reason_text))
    before, issue.status = issue.status, status
    issue.resolved_at = now if status is RESOLVED else None
    _mark_responded(issue, now)
    body = f"{before.value} → {status.value}" + (f": {reason_text}" if reason_text else "")
    return await _entry(session, issue, AccessIssueEntryKind.STATUS, body, author_user_id, now)


def transition_problems(
    before: AccessIssueStatus, after: AccessIssueStatus, reason: str
) -> list[Problem]:
    """Why ``before → after`` is not allowed (empty when it is)."""
    if after not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[before]))
        message = f"A {before.value} issue can move to {allowed} only."
        return [Problem("INVALID_TRANSITION", message, ("status",))]
    if before is RESOLVED and not reason:
        return [Problem("REASON_REQUIRED", "Say why the issue is re-opened.", ("reason",))]
    if len(reason) > MAX_BODY:
        return [
            Problem("REASON_REQUIRED", f"Keep the reason under {MAX_BODY} characters.", ("reason",))
        ]
    return []


def _mark_responded(issue: AccessIssue, now: dt.datetime) -> None:
    if issue.first_responded_at is None:
        issue.first_responded_at = now


def _checked_body(body: str) -> str:
    text = body.strip()
    if not 1 <= len(text) <= MAX_BODY:
        message = f"Write 1 to {MAX_BODY} characters."
        raise RuleViolation([Problem("INVALID_BODY", message, ("body",))])
    return text


async def _entry(
    session: AsyncSession,
    issue: AccessIssue,
    kind: AccessIssueEntryKind,
    body: str,
    author_user_id: int | None,
    now: dt.datetime,
) -> AccessIssueEntry:
    entry = AccessIssueEntry(
        issue_id=issue.id, kind=kind, body=body, author_user_id=author_user_id, created_at=now
    )
    session.add(entry)
    await session.flush()
    return entry


def _reply_text(issue: AccessIssue, body: str) -> str:
    return (
        f"Hello {issue.reporter_name},\n\n{body}\n\n"
        f"Reference: {issue.reference}. Reply to the portal support team quoting it. We will "
        "never ask for your password or your authenticator codes.\n"
    )
