"""Server-side browser sign-in sessions (table ``sign_in_sessions``).

OWASP Session Management cheat sheet and SP 800-63B-4 §5 (session management):

- The cookie ``portal_session`` holds a random 256-bit token; the table stores only its
  SHA-256, so a copy of the table cannot be replayed as cookies.
- A new token is issued at sign-in and again when the second factor is verified (a
  privilege change), so a token known before either step is useless after it.
- A session ends after ``session_idle_seconds`` without use (30 minutes) or
  ``session_absolute_seconds`` after sign-in (12 hours), whichever comes first, and at
  sign-out. The cookie has no expiry of its own: the server decides.
- A user who must use MFA (anyone with an internal role; a group user who enrolled TOTP)
  is signed in only once the session's second factor is verified.

Functions change rows in the caller's ``AsyncSession``; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from api.settings import Settings
from db.models import SignInSession, User, UserRole, UserStatus

SESSION_COOKIE = "portal_session"
TOKEN_BYTES = 32
MAX_IP_LENGTH = 64
MAX_USER_AGENT_LENGTH = 400
SIGNED_IN_STATUSES = frozenset({UserStatus.ACTIVE, UserStatus.LOCKED})
"""A lockout stops new password attempts; it does not end sessions already signed in (that
would let anyone sign a user out by guessing wrong). Disabling a user ends them all."""


def token_hash(token: str) -> str:
    """What the table stores for a session token (or a CSRF token bound to a session)."""
    return hashlib.sha256(token.encode()).hexdigest()


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (SQLite hands back naive values, written in UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def client_ip(request: Request) -> str | None:
    return request.client.host[:MAX_IP_LENGTH] if request.client else None


def user_agent(request: Request) -> str | None:
    agent = request.headers.get("user-agent")
    return agent[:MAX_USER_AGENT_LENGTH] if agent else None


async def start_session(
    db: AsyncSession,
    user: User,
    request: Request,
    *,
    now: dt.datetime,
    settings: Settings,
    csrf_token: str,
) -> tuple[SignInSession, str]:
    """A session for a user who just gave the right password (MFA not yet) and its cookie
    token. ``csrf_token`` is the CSRF token issued with it; only its hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    sign_in_session = SignInSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=token_hash(csrf_token),
        password_passed_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=settings.session_absolute_seconds),
        ip=client_ip(request),
        user_agent=user_agent(request),
    )
    db.add(sign_in_session)
    await db.flush()
    return sign_in_session, token


async def mark_mfa_passed(
    db: AsyncSession, sign_in_session: SignInSession, now: dt.datetime
) -> str:
    """Record the verified second factor and return the session's new cookie token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    sign_in_session.token_hash = token_hash(token)
    sign_in_session.mfa_passed_at = now
    sign_in_session.last_seen_at = now
    await db.flush()
    return token


async def current_session(
    db: AsyncSession, request: Request, settings: Settings, now: dt.datetime
) -> SignInSession | None:
    """The browser's session when it exists and has not ended, idled out or expired.

    A session found idle or expired is ended on the spot.
    """
    found = await _unended_session(db, request)
    if found is None or _live(found, settings, now):
        return found
    found.ended_at = now
    return None


def _live(sign_in_session: SignInSession, settings: Settings, now: dt.datetime) -> bool:
    idle_limit = as_utc(sign_in_session.last_seen_at) + dt.timedelta(
        seconds=settings.session_idle_seconds
    )
    return now < idle_limit and now < as_utc(sign_in_session.expires_at)


async def mfa_required(db: AsyncSession, user: User) -> bool:
    """Internal roles always need the second factor; group users once they enrolled TOTP."""
    if user.totp_enrolled_at is not None:
        return True
    role = await db.scalar(select(UserRole.id).where(UserRole.user_id == user.id).limit(1))
    return role is not None


async def signed_in_user(
    db: AsyncSession, request: Request, settings: Settings, now: dt.datetime
) -> User | None:
    """The user this browser is signed in as, or ``None``; refreshes the idle timer.

    Signed in means: a live session (see ``current_session``), a user not disabled, and the
    second factor verified when the user must use one.
    """
    found = await _session_and_user(db, request, settings, now)
    if found is None:
        return None
    sign_in_session, user = found
    if sign_in_session.mfa_passed_at is None and await mfa_required(db, user):
        return None
    sign_in_session.last_seen_at = now
    return user


async def pending_sign_in(
    db: AsyncSession, request: Request, settings: Settings, now: dt.datetime
) -> tuple[SignInSession, User] | None:
    """The session and user when the password step passed but no second factor was verified
    yet (the MFA and enrolment pages). Also a group user without MFA, who may enrol."""
    found = await _session_and_user(db, request, settings, now)
    if found is None or found[0].mfa_passed_at is not None:
        return None
    return found


async def pending_user(
    db: AsyncSession, request: Request, settings: Settings, now: dt.datetime
) -> User | None:
    """The user of ``pending_sign_in``, or ``None``."""
    found = await pending_sign_in(db, request, settings, now)
    return None if found is None else found[1]


async def _session_and_user(
    db: AsyncSession, request: Request, settings: Settings, now: dt.datetime
) -> tuple[SignInSession, User] | None:
    sign_in_session = await current_session(db, request, settings, now)
    if sign_in_session is None:
        return None
    user = await db.get(User, sign_in_session.user_id)
    if user is None or user.status not in SIGNED_IN_STATUSES:
        return None
    return sign_in_session, user


async def end_session(db: AsyncSession, request: Request, now: dt.datetime) -> None:
    """Sign-out: the browser's session (if any) ends now, whatever its state."""
    found = await _unended_session(db, request)
    if found is not None:
        found.ended_at = now
        await db.flush()


async def _unended_session(db: AsyncSession, request: Request) -> SignInSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await db.scalar(
        select(SignInSession).where(
            SignInSession.token_hash == token_hash(token), SignInSession.ended_at.is_(None)
        )
    )
