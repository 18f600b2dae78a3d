"""Changing a portal user's sign-in email (issue 9: "changing a user's email needs a rep or
admin"): the email is where reset links go, so whoever changes it could take the account
over; support staff, who reset logins, therefore cannot change it (the field gate is
``rep:groups``, which representatives and administrators hold and support does not).

- Only benefit leaders' emails change here; staff accounts' emails do not (one staff member
  redirecting another's reset links would be a takeover).
- The new address is unique case-insensitively (``email_key``).
- Both addresses are told: the old one so that its owner notices a change they did not ask
  for, the new one so that it is known to work.
- Sessions and tokens are kept (the person is the same), but links already emailed to the
  old address (password resets, invitations) stop working: they could otherwise still be
  used by whoever reads the old mailbox. An invited user needs a new invitation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.mail import enqueue_email
from api.services.password_resets import revoke_resets
from api.services.rules import Problem, RuleViolation
from api.services.users import email_key
from api.services.web_access_invitations import revoke_invitations
from api.services.web_access_rules import EMAIL, MAX_EMAIL_LENGTH
from db.models import User
from db.queries import login_support as queries

EMAIL_CHANGED_EMAIL = "email_changed"
MAX_REASON_LENGTH = 500

USER_NOT_FOUND = Problem(
    "USER_NOT_FOUND", "No portal user has this ID; check `userId`.", ("userId",)
)
INTERNAL_ACCOUNT = Problem(
    "INTERNAL_ACCOUNT",
    "Staff accounts' emails are not changed here; use the `portal` command line.",
    ("userId",),
)
INVALID_EMAIL = Problem(
    "INVALID_EMAIL", "Give one valid email address, at most 320 characters.", ("email",)
)
SAME_EMAIL = Problem("SAME_EMAIL", "This is already the user's email address.", ("email",))
EMAIL_TAKEN = Problem("EMAIL_TAKEN", "Another account already uses this email address.", ("email",))
REASON_REQUIRED = Problem(
    "REASON_REQUIRED",
    f"Say why the email changes (at most {MAX_REASON_LENGTH} characters).",
    ("reason",),
)


@dataclass(frozen=True, slots=True)
class EmailChange:
    user_id: int | None  # None: an ID that names no portal user
    email: str
    reason: str


async def change_email(session: AsyncSession, change: EmailChange, *, now: dt.datetime) -> User:
    """Check, change and notify, in the caller's transaction; the caller commits."""
    user = None if change.user_id is None else await queries.user_by_id(session, change.user_id)
    problems = await _problems(session, user, change)
    if problems or user is None:
        raise RuleViolation(problems or [USER_NOT_FOUND])
    old = user.email
    user.email, user.email_key = change.email.strip(), email_key(change.email)
    await revoke_resets(session, user.id, now)
    await revoke_invitations(session, user.id, now)
    for address in (old, user.email):
        _notify(session, user, old, address, now)
    await session.flush()
    return user


async def _problems(session: AsyncSession, user: User | None, change: EmailChange) -> list[Problem]:
    reason = change.reason.strip()
    problems = [] if reason and len(reason) <= MAX_REASON_LENGTH else [REASON_REQUIRED]
    if user is None:
        return [USER_NOT_FOUND, *problems]
    if await queries.roles_of(session, user.id):
        return [INTERNAL_ACCOUNT, *problems]
    return [*await _email_problems(session, user, change.email.strip()), *problems]


async def _email_problems(session: AsyncSession, user: User, email: str) -> list[Problem]:
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL.match(email):
        return [INVALID_EMAIL]
    if email == user.email:
        return [SAME_EMAIL]
    if email_key(email) == user.email_key:  # a change of case only: still this user's
        return []
    return [EMAIL_TAKEN] if await queries.email_key_taken(session, email_key(email)) else []


def _notify(session: AsyncSession, user: User, old: str, to: str, now: dt.datetime) -> None:
    enqueue_email(
        session, kind=EMAIL_CHANGED_EMAIL, to=to,
        subject="Your Group Portal sign-in email changed",
        body_text=(
            f"Hello {user.name},\n\nThe email address you sign in to the Group Portal with "
            f"was changed by the carrier's staff from {old} to {user.email}. From now on, "
            f"sign in with {user.email}; your password and two-step verification are "
            "unchanged.\n\nIf you did not ask for this, contact portal support at once.\n"
        ),
        related_type="User", related_id=str(user.id), now=now,
    )  # fmt: skip
