"""Support's login troubleshooting view and login resets (SPEC §2 Web access; issue 9).

The view says why someone cannot sign in — status, lock and until when, MFA, last sign-in,
recent attempts with the recorded reason, live sessions and token families — and carries
nothing that would let its reader sign in as the user: no password, hash, TOTP secret,
recovery code or reset link is ever read into it (``db.queries.login_support`` selects the
safe columns only).

A reset (who may do what: ``login_reset_rules``) is refused as a whole or done as a whole in
the caller's transaction, with a RESET entry on the access issue and, unless the only
action is the reset link (whose email says it all), an email telling the user what was
done. Support never sees or sets a password or a code: the link goes to the user's inbox
and a new authenticator is enrolled by the user at their next sign-in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.signin import lift_lock
from api.services.login_reset_rules import (
    APPLY_ORDER,
    USER_NOT_FOUND,
    ResetAction,
    ResetActor,
    action_problems,
    is_locked,
    issue_problems,
    target_problems,
)
from api.services.mail import enqueue_email
from api.services.password_resets import issue_reset
from api.services.rules import Problem, RuleViolation
from api.services.sign_in_revocation import revoke_sign_ins
from api.settings import Settings
from db.models import (
    AccessIssue,
    AccessIssueEntry,
    AccessIssueEntryKind,
    RecoveryCode,
    Role,
    SignInSession,
    User,
    UserStatus,
)
from db.queries import login_support as queries

ATTEMPT_DAYS = 30
RESET_NOTICE_EMAIL = "login_reset_notice"
DONE = {
    ResetAction.UNLOCK: "your account was unlocked",
    ResetAction.RESET_MFA: "your two-step verification was removed: you will set up your "
    "authenticator app again the next time you sign in",
    ResetAction.REVOKE_SESSIONS: "every device and app signed in to your account was signed out",
    ResetAction.SEND_PASSWORD_RESET: "a link to choose a new password was sent to this address",
}
ON_ISSUE = {
    ResetAction.UNLOCK: "unlocked",
    ResetAction.RESET_MFA: "two-step verification removed",
    ResetAction.REVOKE_SESSIONS: "signed out everywhere",
    ResetAction.SEND_PASSWORD_RESET: "password-reset link emailed",
}


@dataclass(frozen=True, slots=True)
class Troubleshooting:
    """What support may see of one user's sign-in state; secrets are not fields here."""

    user_id: int
    email: str
    name: str
    status: UserStatus
    roles: frozenset[Role]
    locked: bool
    locked_until: dt.datetime | None
    mfa_enrolled_at: dt.datetime | None
    last_sign_in_at: dt.datetime | None
    attempts: Sequence[queries.AttemptRow]
    sessions: Sequence[queries.SessionRow]
    token_families: Sequence[queries.FamilyRow]


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    user_id: int
    changes: dict[str, Any]


async def troubleshooting(
    session: AsyncSession, user: User, *, settings: Settings, now: dt.datetime
) -> Troubleshooting:
    """The view of ``user`` now: attempts of the last 30 days (at most 20), live sessions
    (not ended, idled out or expired) and live refresh-token families."""
    locked = is_locked(user, now)
    idle_since = now - dt.timedelta(seconds=settings.session_idle_seconds)
    return Troubleshooting(
        user_id=user.id, email=user.email, name=user.name, status=user.status,
        roles=await queries.roles_of(session, user.id), locked=locked,
        locked_until=user.locked_until if locked else None,
        mfa_enrolled_at=user.totp_enrolled_at, last_sign_in_at=user.last_sign_in_at,
        attempts=await queries.recent_attempts(
            session, user.id, now - dt.timedelta(days=ATTEMPT_DAYS)
        ),
        sessions=await queries.live_sessions(session, user.id, now=now, idle_since=idle_since),
        token_families=await queries.live_families(session, user.id, now=now),
    )  # fmt: skip


async def reset(
    session: AsyncSession,
    *,
    actor: ResetActor,
    user_id: int | None,
    reference: str,
    actions: Sequence[ResetAction],
    settings: Settings,
    now: dt.datetime,
) -> ResetOutcome:
    """Check everything, then do every action under the issue; the caller commits (with the
    ``login.reset`` audit event built from the outcome's changes)."""
    user = None if user_id is None else await queries.user_by_id(session, user_id)
    issue = await queries.access_issue(session, reference) if reference.strip() else None
    problems = await _problems(session, actor, user, issue, reference, actions, now)
    if problems or user is None or issue is None:  # no user or issue is always a problem
        raise RuleViolation(problems)
    done = [action for action in APPLY_ORDER if action in actions]
    details = {action.value: await _apply(session, action, actor, user, issue, settings, now)
               for action in done}  # fmt: skip
    _record_on_issue(session, issue, actor, user, done)
    if done != [ResetAction.SEND_PASSWORD_RESET]:
        _notify(session, user, issue, done, now)
    await session.flush()
    changes = {"accessIssue": issue.reference, "actions": [a.value for a in done], **details}
    return ResetOutcome(user.id, changes)


async def _problems(
    session: AsyncSession,
    actor: ResetActor,
    user: User | None,
    issue: AccessIssue | None,
    reference: str,
    actions: Sequence[ResetAction],
    now: dt.datetime,
) -> list[Problem]:
    problems = issue_problems(issue, reference, None if user is None else user.id)
    if user is None:
        return [USER_NOT_FOUND, *problems, *action_problems(actions, None, now)]
    roles = await queries.roles_of(session, user.id)
    return [*target_problems(actor, user.id, roles), *problems,
            *action_problems(actions, user, now)]  # fmt: skip


async def _apply(
    session: AsyncSession,
    action: ResetAction,
    actor: ResetActor,
    user: User,
    issue: AccessIssue,
    settings: Settings,
    now: dt.datetime,
) -> dict[str, Any]:
    """One action; returns what it changed, for the audit log (counts and times only)."""
    if action is ResetAction.UNLOCK:
        return _unlock(user, now)
    if action is ResetAction.RESET_MFA:
        return await _reset_mfa(session, user, now)
    if action is ResetAction.REVOKE_SESSIONS:
        revoked = await revoke_sign_ins(session, user.id, now=now, reason="support reset")
        return {"sessions": revoked.sessions, "tokenFamilies": revoked.token_families}
    link = await issue_reset(
        session, user, settings=settings, now=now, requested_by_user_id=actor.user_id,
        access_issue_id=issue.id, ip=actor.ip,
    )  # fmt: skip
    return {"expiresAt": link.expires_at.isoformat()}


def _unlock(user: User, now: dt.datetime) -> dict[str, Any]:
    """ACTIVE again (``api.auth.signin.lift_lock``)."""
    before = user.locked_until
    lift_lock(user, now)
    return {"lockedUntil": None if before is None else before.isoformat()}


async def _reset_mfa(session: AsyncSession, user: User, now: dt.datetime) -> dict[str, Any]:
    """Secret, enrolment and recovery codes removed. Sessions still waiting for the second
    factor end too: without MFA a password-only session would otherwise count as signed in
    (``api.auth.browser_session.signed_in_user``). Internal roles must enrol again at the
    next sign-in; a group user may (their MFA is optional, SPEC §2 Web access)."""
    user.totp_secret_encrypted, user.totp_enrolled_at, user.totp_last_step = None, None, None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None),
               SignInSession.mfa_passed_at.is_(None))
        .values(ended_at=now)
    )  # fmt: skip
    return {"mfaRemoved": True}


def _record_on_issue(
    session: AsyncSession,
    issue: AccessIssue,
    actor: ResetActor,
    user: User,
    done: Sequence[ResetAction],
) -> None:
    """The issue's history says what was done, and the issue is now about this user."""
    if issue.subject_user_id is None:
        issue.subject_user_id = user.id
    body = f"Login reset for {user.email}: " + "; ".join(ON_ISSUE[a] for a in done) + "."
    session.add(
        AccessIssueEntry(
            issue_id=issue.id, kind=AccessIssueEntryKind.RESET, author_user_id=actor.user_id,
            body=body,
        )
    )  # fmt: skip


def _notify(
    session: AsyncSession,
    user: User,
    issue: AccessIssue,
    done: Sequence[ResetAction],
    now: dt.datetime,
) -> None:
    lines = "".join(f"- {DONE[action][0].upper()}{DONE[action][1:]}.\n" for action in done)
    enqueue_email(
        session, kind=RESET_NOTICE_EMAIL, to=user.email,
        subject="Changes to your Group Portal sign-in",
        body_text=(
            f"Hello {user.name},\n\nFollowing your access request {issue.reference}, our "
            f"portal support team made these changes to your account:\n\n{lines}\n"
            "If you did not ask for this, contact portal support at once and quote "
            f"{issue.reference}.\n"
        ),
        related_type="AccessIssue", related_id=str(issue.id), now=now,
    )  # fmt: skip
