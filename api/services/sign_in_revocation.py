"""Ending a user's sign-ins everywhere: every browser session and every refresh-token family
(and so every access token carrying the family as ``sid``, SPEC §3). Shared by deactivation,
support's ``REVOKE_SESSIONS`` reset and the password-reset page, so "signed out everywhere"
means the same thing in each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SignInSession, TokenFamily


@dataclass(frozen=True, slots=True)
class Revoked:
    """How many sessions and token families were ended (for the audit log)."""

    sessions: int
    token_families: int


async def revoke_sign_ins(
    session: AsyncSession, user_id: int, *, now: dt.datetime, reason: str
) -> Revoked:
    """End every live browser session and revoke every live token family of ``user_id``;
    ``reason`` is kept on the families (``revoked_reason``)."""
    families = await session.execute(
        update(TokenFamily)
        .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    sessions = await session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    await session.flush()
    return Revoked(_count(sessions), _count(families))


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
