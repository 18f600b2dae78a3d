"""Reads behind support's login troubleshooting and resets (SPEC §2 Web access; issue 9).

Only columns that are safe to show are selected: attempts, sessions and token families come
back as plain rows without hashes, so no caller can leak a token hash by accident. Support
staff see every user (no group scoping: the field gate is ``support:access``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AccessIssue,
    LoginAttempt,
    LoginFailureReason,
    LoginOutcome,
    RefreshToken,
    Role,
    SignInSession,
    TokenFamily,
    User,
    UserRole,
)

MAX_ATTEMPTS = 20
MAX_LIVE_ROWS = 50


@dataclass(frozen=True, slots=True)
class AttemptRow:
    at: dt.datetime
    outcome: LoginOutcome
    reason: LoginFailureReason | None
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    started_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    mfa_passed: bool
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class FamilyRow:
    client_id: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def user_by_email_key(session: AsyncSession, key: str) -> User | None:
    return await session.scalar(select(User).where(User.email_key == key))


async def email_key_taken(session: AsyncSession, key: str) -> bool:
    return await session.scalar(select(User.id).where(User.email_key == key)) is not None


async def roles_of(session: AsyncSession, user_id: int) -> frozenset[Role]:
    rows = await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))
    return frozenset(rows)


async def access_issue(session: AsyncSession, reference: str) -> AccessIssue | None:
    """The issue by the reference its reporter was given (``AI-…``), case-insensitively."""
    return await session.scalar(
        select(AccessIssue).where(AccessIssue.reference == reference.strip().upper())
    )


async def recent_attempts(
    session: AsyncSession, user_id: int, since: dt.datetime
) -> Sequence[AttemptRow]:
    """The user's sign-in attempts since ``since``, newest first, at most ``MAX_ATTEMPTS``."""
    rows = await session.execute(
        select(
            LoginAttempt.at,
            LoginAttempt.outcome,
            LoginAttempt.reason,
            LoginAttempt.ip,
            LoginAttempt.user_agent,
        )
        .where(LoginAttempt.user_id == user_id, LoginAttempt.at >= since)
        .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
        .limit(MAX_ATTEMPTS)
    )
    return [AttemptRow(*row) for row in rows]


async def live_sessions(
    session: AsyncSession, user_id: int, *, now: dt.datetime, idle_since: dt.datetime
) -> Sequence[SessionRow]:
    """Browser sessions not ended, not expired and used since ``idle_since``, newest first."""
    rows = await session.execute(
        select(
            SignInSession.password_passed_at,
            SignInSession.last_seen_at,
            SignInSession.expires_at,
            SignInSession.mfa_passed_at.is_not(None),
            SignInSession.ip,
            SignInSession.user_agent,
        )
        .where(
            SignInSession.user_id == user_id,
            SignInSession.ended_at.is_(None),
            SignInSession.expires_at > now,
            SignInSession.last_seen_at > idle_since,
        )
        .order_by(SignInSession.last_seen_at.desc(), SignInSession.id.desc())
        .limit(MAX_LIVE_ROWS)
    )
    return [SessionRow(*row) for row in rows]


async def live_families(
    session: AsyncSession, user_id: int, *, now: dt.datetime
) -> Sequence[FamilyRow]:
    """Refresh-token families neither revoked nor expired, newest first. A refresh token is
    rotated when used, so "last used" is the family's latest rotation (null: never yet)."""
    last_used = (
        select(func.max(RefreshToken.rotated_at))
        .where(RefreshToken.family_id == TokenFamily.id)
        .correlate(TokenFamily)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(TokenFamily.client_id, TokenFamily.created_at, last_used, TokenFamily.expires_at)
        .where(
            TokenFamily.user_id == user_id,
            TokenFamily.revoked_at.is_(None),
            TokenFamily.expires_at > now,
        )
        .order_by(TokenFamily.created_at.desc(), TokenFamily.id.desc())
        .limit(MAX_LIVE_ROWS)
    )
    return [FamilyRow(*row) for row in rows]
