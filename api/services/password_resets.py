"""One-time password-reset links (SPEC §2 Web access: "Invitations and password resets
are one-time links (stored hashed, expiring: 7 days / 1 hour)"; issue 9).

Issuing is shared by a user's own request (the sign-in page) and a support reset
(``SEND_PASSWORD_RESET``). As with invitations: 256 random bits of which only the SHA-256
is stored, bound to one user, at most one live link per user (a new one revokes the
older), expiring after ``settings.password_reset_minutes`` (60 by default), and the email
is recorded in the caller's transaction (the outbox). The token exists only in the email:
nobody, support included, can read it back.

Completing a reset (``complete_reset``) sets a password under the sign-up rules
(SP 800-63B-4), spends the link once, unlocks a locked account (the person proved control
of the email), keeps TOTP as enrolled, ends every session and token family, and tells the
user by email. A self-service request (``request_reset``) answers the same whether or not
the address has an account, and is rate-limited per IP and per address in the database.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import PasswordProblem, hash_password, password_problems
from api.auth.signin import lift_lock
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.mail import enqueue_email
from api.services.rate_limits import Limit, Verdict, hit
from api.services.sign_in_revocation import revoke_sign_ins
from api.services.users import email_key
from api.services.web_access_invitations import (
    MAX_TOKEN_LENGTH,
    TOKEN_BYTES,
    LinkRefusal,
    token_hash,
)
from api.settings import Settings
from db.models import PasswordReset, User, UserStatus

RESET_PATH = "/password-reset"
RESET_EMAIL = "password_reset"
CHANGED_EMAIL = "password_changed"
MAX_EMAIL_LENGTH = 320
RESETTABLE = frozenset({UserStatus.ACTIVE, UserStatus.LOCKED})
"""Who a link is for: an invited user has no password yet (their invitation sets it) and a
disabled one must not get back in by email."""


ResetRefusal = LinkRefusal


@dataclass(frozen=True, slots=True)
class OpenReset:
    reset: PasswordReset
    user: User


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    """The outcome of an attempt: ``refusal`` or password ``problems``, else done."""

    user: User | None = None
    refusal: ResetRefusal | None = None
    problems: tuple[PasswordProblem, ...] = ()

    @property
    def done(self) -> bool:
        return self.refusal is None and not self.problems


def reset_url(settings: Settings, token: str) -> str:
    """The link in the email: the reset page on the public base URL (the issuer)."""
    return f"{settings.issuer.rstrip('/')}{RESET_PATH}?{urlencode({'token': token})}"


async def revoke_resets(session: AsyncSession, user_id: int, now: dt.datetime) -> None:
    """Every unused link of the user stops working."""
    await session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


async def issue_reset(
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    now: dt.datetime,
    requested_by_user_id: int | None = None,
    access_issue_id: int | None = None,
    ip: str | None = None,
) -> PasswordReset:
    """A new link for ``user`` (earlier ones revoked) and its email, in the caller's
    transaction."""
    await revoke_resets(session, user.id, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    reset = PasswordReset(
        token_hash=token_hash(token), user_id=user.id,
        requested_by_user_id=requested_by_user_id, access_issue_id=access_issue_id,
        expires_at=now + dt.timedelta(minutes=settings.password_reset_minutes), ip=ip,
    )  # fmt: skip
    session.add(reset)
    await session.flush()
    enqueue_email(
        session, kind=RESET_EMAIL, to=user.email, subject="Reset your Group Portal password",
        body_text=_reset_text(user, reset_url(settings, token), reset),
        related_type="PasswordReset", related_id=str(reset.id), now=now,
    )  # fmt: skip
    return reset


def _reset_text(user: User, link: str, reset: PasswordReset) -> str:
    expires = reset.expires_at.strftime("%B %d, %Y at %H:%M UTC")
    return (
        f"Hello {user.name},\n\n"
        "We received a request to reset the password of your Group Portal account. To "
        f"choose a new password, open this link (it works once, until {expires}):\n\n"
        f"{link}\n\n"
        "Your two-step verification stays as it is, and every device signed in to your "
        "account is signed out once the password is changed.\n\n"
        "If you did not ask for this, you can ignore this email: your password has not "
        "changed.\n"
    )


async def open_reset(
    session: AsyncSession, token: str, now: dt.datetime
) -> OpenReset | ResetRefusal:
    """The live link this token belongs to, or why it does not work."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return ResetRefusal.UNKNOWN
    found = (
        await session.execute(
            select(PasswordReset, User)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.token_hash == token_hash(token))
        )
    ).first()
    if found is None:
        return ResetRefusal.UNKNOWN
    reset, user = found
    if reset.used_at is not None:
        return ResetRefusal.USED
    if reset.revoked_at is not None or user.status not in RESETTABLE:
        return ResetRefusal.WITHDRAWN
    if reset.expires_at <= now:
        return ResetRefusal.EXPIRED
    return OpenReset(reset, user)


async def complete_reset(
    session: AsyncSession, *, token: str, password: str, now: dt.datetime, origin: RequestOrigin
) -> ResetOutcome:
    """Sets the new password, spending the link; audited as ``password.reset`` by the user.

    A refused password leaves the link usable. The link is spent by a conditional UPDATE,
    so of two concurrent submissions only one changes the password."""
    found = await open_reset(session, token, now)
    if isinstance(found, ResetRefusal):
        return ResetOutcome(refusal=found)
    user = found.user
    if problems := password_problems(password, email=user.email, name=user.name):
        return ResetOutcome(user=user, problems=tuple(problems))
    if not await _spend(session, found.reset, now):
        return ResetOutcome(refusal=ResetRefusal.USED)
    await _change_password(session, user, password, now)
    _notify_changed(session, user, now)
    await _audit(session, user, found.reset, origin)
    return ResetOutcome(user=user)


async def _spend(session: AsyncSession, reset: PasswordReset, now: dt.datetime) -> bool:
    spent = await session.scalar(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.id)
    )
    return spent is not None


async def _change_password(
    session: AsyncSession, user: User, password: str, now: dt.datetime
) -> None:
    """The new hash; a lock lifts (the person proved control of the email); TOTP stays as
    enrolled; whatever was signed in before (perhaps an attacker) is signed out."""
    user.password_hash = hash_password(password)
    if user.status is UserStatus.LOCKED:
        lift_lock(user, now)
    await revoke_resets(session, user.id, now)
    await revoke_sign_ins(session, user.id, now=now, reason="password reset")
    await session.flush()


def _notify_changed(session: AsyncSession, user: User, now: dt.datetime) -> None:
    """The user hears of the change (SP 800-63B-4: notify the subscriber when an
    authenticator changes), so a reset they did not make does not go unnoticed."""
    enqueue_email(
        session, kind=CHANGED_EMAIL, to=user.email,
        subject="Your Group Portal password was changed",
        body_text=(
            f"Hello {user.name},\n\n"
            f"The password of your Group Portal account was changed on "
            f"{now.strftime('%B %d, %Y at %H:%M UTC')} using a password-reset link. Every "
            "device that was signed in has been signed out.\n\n"
            "If you did not do this, contact your group's portal administrator or the "
            "carrier's portal support team at once.\n"
        ),
        related_type="PortalUser", related_id=str(user.id), now=now,
    )  # fmt: skip


async def _audit(
    session: AsyncSession, user: User, reset: PasswordReset, origin: RequestOrigin
) -> None:
    """Done by the user themself (the link is their authentication), not by its sender."""
    trail = AuditTrail(actor=Actor(user_id=user.id, client_id=None), origin=origin)
    changes = {
        "requestedByUserId": reset.requested_by_user_id,
        "accessIssueId": reset.access_issue_id,
    }
    trail.record(
        "password.reset", target_type="PortalUser", target_id=str(user.id), changes=changes
    )
    await trail.flush(session)


async def request_reset(
    session: AsyncSession, *, email: str, ip: str | None, settings: Settings, now: dt.datetime
) -> Verdict:
    """A self-service request: counted per IP and per address (committed at once, so a
    refused request counts too), then a link for an ACTIVE or LOCKED account, else nothing.

    The answer is the verdict alone, the same for any address; the email is only recorded
    here (the outbox sends it later), so the work differs by a few inserts at most."""
    key = email_key(email)[:MAX_EMAIL_LENGTH]
    verdict = await _count_request(session, key, ip, settings, now)
    await session.commit()
    if not verdict.allowed:
        return verdict
    user = await session.scalar(select(User).where(User.email_key == key))
    if user is not None and user.status in RESETTABLE:
        await issue_reset(session, user, settings=settings, now=now, ip=ip)
    return verdict


async def _count_request(
    session: AsyncSession, key: str, ip: str | None, settings: Settings, now: dt.datetime
) -> Verdict:
    """Both counters always advance; refused when either is over, retry after the later."""
    by_ip, by_email = _request_limits(settings)
    verdicts = [
        await hit(session, by_ip, ip or "unknown", now),
        await hit(session, by_email, key, now),
    ]
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    return max(refused, key=lambda v: v.retry_after_seconds) if refused else verdicts[0]


def _request_limits(settings: Settings) -> tuple[Limit, Limit]:
    """Per client IP (5 per 15 minutes by default) and per address (3 per hour)."""
    seconds = dt.timedelta(seconds=1)
    return (
        Limit("password-reset:ip", settings.password_reset_ip_limit,
              settings.password_reset_ip_window_seconds * seconds),
        Limit("password-reset:email", settings.password_reset_email_limit,
              settings.password_reset_email_window_seconds * seconds),
    )  # fmt: skip
