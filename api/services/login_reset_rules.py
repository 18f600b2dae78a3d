"""What a login reset may do, and to whom (SPEC §2 Web access: "Login resets by support
staff … each tied to an access issue"; issue 9).

- Every reset names an access issue that exists and is not RESOLVED, and that is about this
  user (or about nobody yet: the reset makes it so). An open issue about someone else is no
  cover for resetting a third account.
- Nobody resets their own account here: a reset is a second person vouching for the caller.
- Support staff reset only benefit leaders' accounts, never an internal one (a
  representative, another support member or an administrator): resetting a colleague's MFA
  or sessions would let one staff member take over another's higher access. An
  administrator may reset representatives and support staff (someone must unlock a locked
  rep), but not another administrator, whose account only the command line touches.
- The actions are a non-empty set; each must have something to act on (an UNLOCK of an
  account that is not locked is refused rather than silently done), and a DISABLED
  account is neither unlocked nor sent a reset link: it cannot sign in whatever its
  password (a rep or group admin gives it access again).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from api.auth.browser_session import as_utc
from api.services.rules import Problem
from db.models import AccessIssue, AccessIssueStatus, Role, User, UserStatus


class ResetAction(enum.StrEnum):
    UNLOCK = "UNLOCK"
    SEND_PASSWORD_RESET = "SEND_PASSWORD_RESET"
    RESET_MFA = "RESET_MFA"
    REVOKE_SESSIONS = "REVOKE_SESSIONS"


# Applied in this order whatever order they were asked in: the reset link goes out last,
# after the account it leads to is unlocked and signed out.
APPLY_ORDER = (
    ResetAction.UNLOCK,
    ResetAction.RESET_MFA,
    ResetAction.REVOKE_SESSIONS,
    ResetAction.SEND_PASSWORD_RESET,
)


@dataclass(frozen=True, slots=True)
class ResetActor:
    """The staff member starting the reset, and where from (kept on a reset link)."""

    user_id: int
    roles: frozenset[Role]
    ip: str | None = None


def _problem(code: str, message: str, field: str) -> Problem:
    return Problem(code, message, (field,))


ISSUE_REQUIRED = _problem(
    "ISSUE_REQUIRED",
    "Give the reference of the access issue this reset is for (e.g. AI-7K3Q9X).",
    "accessIssueReference",
)
ISSUE_NOT_FOUND = _problem(
    "ISSUE_NOT_FOUND",
    "No access issue has this reference; check `accessIssueReference`.",
    "accessIssueReference",
)
ISSUE_RESOLVED = _problem(
    "ISSUE_RESOLVED",
    "This access issue is resolved; reopen it before resetting the login.",
    "accessIssueReference",
)
ISSUE_ABOUT_ANOTHER_USER = _problem(
    "ISSUE_ABOUT_ANOTHER_USER",
    "This access issue is about another account; use the issue reported for this user.",
    "accessIssueReference",
)
USER_NOT_FOUND = _problem("USER_NOT_FOUND", "No user has this ID; check `userId`.", "userId")
OWN_ACCOUNT = _problem("OWN_ACCOUNT", "You cannot reset your own login; ask a colleague.", "userId")
INTERNAL_ACCOUNT = _problem(
    "INTERNAL_ACCOUNT",
    "Support cannot reset staff accounts (representatives, support staff, administrators); "
    "ask an administrator.",
    "userId",
)
ADMIN_ACCOUNT = _problem(
    "INTERNAL_ACCOUNT",
    "Administrator accounts cannot be reset here; use the `portal` command line.",
    "userId",
)
NO_ACTIONS = _problem("NO_ACTIONS", "Choose at least one action.", "actions")
DUPLICATE_ACTIONS = _problem("DUPLICATE_ACTIONS", "Give each action once.", "actions")
USER_DISABLED = _problem(
    "USER_DISABLED",
    "This account is disabled, so it cannot be unlocked or sent a reset link; a "
    "representative or the group's admin must give it access again.",
    "actions",
)
NOT_LOCKED = _problem("NOT_LOCKED", "This account is not locked; leave out UNLOCK.", "actions")
NOT_ACTIVATED = _problem(
    "NOT_ACTIVATED",
    "This person has not set up their account yet; resend their invitation instead of a "
    "password-reset link.",
    "actions",
)
MFA_NOT_SET_UP = _problem(
    "MFA_NOT_SET_UP",
    "This account has no two-step verification to reset; leave out RESET_MFA.",
    "actions",
)


def is_locked(user: User, now: dt.datetime) -> bool:
    """Locked now: a lock without an end, or one whose end is still ahead (an expired lock
    is lifted at the next sign-in attempt, ``api.auth.signin.unlock_if_expired``)."""
    until = user.locked_until
    return user.status is UserStatus.LOCKED and (until is None or as_utc(until) > now)


def issue_problems(issue: AccessIssue | None, reference: str, user_id: int | None) -> list[Problem]:
    if not reference.strip():
        return [ISSUE_REQUIRED]
    if issue is None:
        return [ISSUE_NOT_FOUND]
    if issue.status is AccessIssueStatus.RESOLVED:
        return [ISSUE_RESOLVED]
    if user_id is not None and issue.subject_user_id not in (None, user_id):
        return [ISSUE_ABOUT_ANOTHER_USER]
    return []


def target_problems(actor: ResetActor, user_id: int, roles: frozenset[Role]) -> list[Problem]:
    if user_id == actor.user_id:
        return [OWN_ACCOUNT]
    if not roles:
        return []
    if Role.ADMIN not in actor.roles:
        return [INTERNAL_ACCOUNT]
    return [ADMIN_ACCOUNT] if Role.ADMIN in roles else []


def action_problems(
    actions: Sequence[ResetAction], user: User | None, now: dt.datetime
) -> list[Problem]:
    if not actions:
        return [NO_ACTIONS]
    if len(set(actions)) != len(actions):
        return [DUPLICATE_ACTIONS]
    if user is None:
        return []
    asked = [p for action in APPLY_ORDER if action in actions for p in _cannot(action, user, now)]
    return list(dict.fromkeys(asked))


def _cannot(action: ResetAction, user: User, now: dt.datetime) -> list[Problem]:
    if action is ResetAction.UNLOCK:
        if user.status is UserStatus.DISABLED:
            return [USER_DISABLED]
        return [] if is_locked(user, now) else [NOT_LOCKED]
    if action is ResetAction.SEND_PASSWORD_RESET:
        return {UserStatus.DISABLED: [USER_DISABLED], UserStatus.INVITED: [NOT_ACTIVATED]}.get(
            user.status, []
        )
    if action is ResetAction.RESET_MFA and user.totp_secret_encrypted is None:
        return [MFA_NOT_SET_UP]
    return []
