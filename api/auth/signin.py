"""The sign-in service: the only place that checks passwords and second factors.

SPEC §2 Web access, NIST SP 800-63B-4 and the OWASP Authentication cheat sheet:

- Every attempt is recorded in ``login_attempts`` with the real reason for support's
  troubleshooting view, while the person signing in sees one message for every failure
  (``GENERIC_FAILURE``): the page never tells whether an email has an account.
- An unknown, disabled, not-yet-activated or locked account still costs one argon2
  verification (``verify_against_dummy``), so response time does not tell them apart.
- Rate limiting (SP 800-63B-4 §3.2.2): ``lockout_threshold`` failed passwords or second
  factors within ``lockout_window_seconds`` lock the account for ``lockout_seconds``. The
  count restarts when a lock expires, not at a correct password, so knowing the password
  does not buy more guesses at the second factor. A lock with no end time (set by staff)
  does not expire by itself.
- A correct password whose stored hash has outdated parameters is rehashed.
- TOTP codes are accepted once (SP 800-63B-4 §3.1.4.1) and recovery codes once
  (§3.1.2.2): both are spent by a conditional UPDATE, so two concurrent requests cannot
  both use one code.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.browser_session import as_utc
from api.auth.passwords import verify_against_dummy, verify_password
from api.auth.totp import (
    SecretBox,
    hash_recovery_code,
    new_recovery_codes,
    new_totp_secret,
    verify_totp,
)
from api.services.users import email_key
from api.settings import Settings
from db.models import (
    LoginAttempt,
    LoginFailureReason,
    LoginOutcome,
    RecoveryCode,
    User,
    UserStatus,
)

GENERIC_FAILURE = (
    "That email and password don't match an active account, or the account is locked. "
    "Try again, or use “Can't sign in?”."
)
MFA_FAILURE = (
    "That code didn't work, or the account is locked. Enter the current code from your "
    "authenticator app or an unused recovery code, or use “Can't sign in?”."
)
RECOVERY_CODE_COUNT = 10
MAX_EMAIL_KEY_LENGTH = 320
LOCKOUT_REASONS = (LoginFailureReason.WRONG_PASSWORD, LoginFailureReason.MFA_FAILED)


class SignInOutcome(enum.StrEnum):
    OK = "OK"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class SignInResult:
    """``user`` is set only on success; ``reason`` is for the record, never for the page."""

    outcome: SignInOutcome
    user: User | None
    reason: LoginFailureReason | None

    @property
    def ok(self) -> bool:
        return self.outcome is SignInOutcome.OK


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where an attempt came from, as recorded."""

    ip: str | None
    user_agent: str | None
    at: dt.datetime


async def check_password(
    db: AsyncSession,
    *,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    now: dt.datetime,
    settings: Settings,
) -> SignInResult:
    """The password step of sign-in: records the attempt, locks or unlocks the account."""
    key = email_key(email)[:MAX_EMAIL_KEY_LENGTH]
    user = await db.scalar(select(User).where(User.email_key == key))
    if user is not None:
        unlock_if_expired(user, now)
    reason = _password_refusal(user, password)
    await _record(db, user, key, Attempt(ip, user_agent, now), reason, settings)
    if user is None or reason is not None:
        return SignInResult(SignInOutcome.FAILED, None, reason)
    user.last_sign_in_at = now
    return SignInResult(SignInOutcome.OK, user, None)


def _password_refusal(user: User | None, password: str) -> LoginFailureReason | None:
    """Why the password step fails, or ``None``; costs one argon2 verification either way."""
    refusal = _account_refusal(user)
    if user is None or user.password_hash is None or refusal is not None:
        verify_against_dummy(password)
        return refusal or LoginFailureReason.NOT_ACTIVATED
    check = verify_password(password, user.password_hash)
    if not check.ok:
        return LoginFailureReason.WRONG_PASSWORD
    if check.new_hash is not None:
        user.password_hash = check.new_hash
    return None


def _account_refusal(user: User | None) -> LoginFailureReason | None:
    if user is None:
        return LoginFailureReason.UNKNOWN_EMAIL
    return {
        UserStatus.DISABLED: LoginFailureReason.DISABLED,
        UserStatus.INVITED: LoginFailureReason.NOT_ACTIVATED,
        UserStatus.LOCKED: LoginFailureReason.LOCKED,
    }.get(user.status)


def unlock_if_expired(user: User, now: dt.datetime) -> None:
    """A lockout whose time has passed ends: the user is ACTIVE again. ``locked_until`` is
    kept as the point from which failures count anew."""
    until = user.locked_until
    if user.status is UserStatus.LOCKED and until is not None and as_utc(until) <= now:
        user.status = UserStatus.ACTIVE


def lift_lock(user: User, now: dt.datetime) -> None:
    """ACTIVE again now (support's unlock, a password reset), with the lock's end moved to
    now: ``locked_until`` is where failures count anew (``_lock_if_too_many``), so the
    failures that caused the lock do not re-lock the account at the next wrong password."""
    user.status, user.locked_until = UserStatus.ACTIVE, now


async def _record(
    db: AsyncSession,
    user: User | None,
    key: str,
    attempt: Attempt,
    reason: LoginFailureReason | None,
    settings: Settings,
) -> None:
    """Writes the attempt; a failure that counts towards lockout may lock the account."""
    db.add(
        LoginAttempt(
            user_id=None if user is None else user.id,
            email_key=key,
            at=attempt.at,
            ip=attempt.ip,
            user_agent=attempt.user_agent,
            outcome=LoginOutcome.SUCCESS if reason is None else LoginOutcome.FAILURE,
            reason=reason,
        )
    )
    await db.flush()
    if user is not None and reason in LOCKOUT_REASONS:
        await _lock_if_too_many(db, user, attempt.at, settings)


async def _lock_if_too_many(
    db: AsyncSession, user: User, now: dt.datetime, settings: Settings
) -> None:
    since = now - dt.timedelta(seconds=settings.lockout_window_seconds)
    if user.locked_until is not None:
        since = max(since, as_utc(user.locked_until))
    failures = await db.scalar(
        select(func.count()).where(
            LoginAttempt.user_id == user.id,
            LoginAttempt.reason.in_(LOCKOUT_REASONS),
            LoginAttempt.at > since,
        )
    )
    if (failures or 0) >= settings.lockout_threshold:
        user.status = UserStatus.LOCKED
        user.locked_until = now + dt.timedelta(seconds=settings.lockout_seconds)


async def check_second_factor(
    db: AsyncSession,
    user: User,
    code: str,
    *,
    attempt: Attempt,
    secret_box: SecretBox,
    settings: Settings,
) -> bool:
    """The MFA step: a current TOTP code or an unused recovery code, each accepted once.

    A failure is recorded as MFA_FAILED and counts towards lockout; a locked account is
    refused (recorded as LOCKED) whatever the code.
    """
    unlock_if_expired(user, attempt.at)
    active = user.status is UserStatus.ACTIVE
    if active and await _second_factor_spent(db, user, code, attempt.at, secret_box, settings):
        return True
    reason = LoginFailureReason.MFA_FAILED if active else LoginFailureReason.LOCKED
    await _record(db, user, user.email_key, attempt, reason, settings)
    return False


async def _second_factor_spent(
    db: AsyncSession,
    user: User,
    code: str,
    now: dt.datetime,
    secret_box: SecretBox,
    settings: Settings,
) -> bool:
    if user.totp_enrolled_at is None or user.totp_secret_encrypted is None:
        return False
    secret = secret_box.decrypt(user.totp_secret_encrypted)
    step = verify_totp(secret, code, at=now, last_used_step=user.totp_last_step)
    if step is not None:
        return await _spend_totp_step(db, user, step)
    return await _spend_recovery_code(db, user, code, now, settings)


async def _spend_totp_step(db: AsyncSession, user: User, step: int) -> bool:
    """Moves ``totp_last_step`` forward only if no other request used this step meanwhile."""
    spent = await db.scalar(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(User.id)
    )
    return spent is not None


async def _spend_recovery_code(
    db: AsyncSession, user: User, code: str, now: dt.datetime, settings: Settings
) -> bool:
    code_hash = hash_recovery_code(code, key=settings.secret_key.get_secret_value())
    spent = await db.scalar(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(RecoveryCode.id)
    )
    return spent is not None


def pending_totp_secret(user: User, secret_box: SecretBox) -> str:
    """The secret being enrolled: the unconfirmed one already stored (so reloading the page
    shows the same QR code), or a new one, stored encrypted until confirmed."""
    if user.totp_secret_encrypted is None:
        user.totp_secret_encrypted = secret_box.encrypt(new_totp_secret())
    return secret_box.decrypt(user.totp_secret_encrypted)


async def confirm_enrollment(
    db: AsyncSession,
    user: User,
    code: str,
    *,
    now: dt.datetime,
    secret_box: SecretBox,
    settings: Settings,
) -> list[str] | None:
    """Completes TOTP enrolment with a code from the new authenticator; returns the new
    recovery codes to show once, or ``None`` when the code is wrong or there is nothing to
    confirm (already enrolled: only support's MFA reset starts over)."""
    if user.totp_enrolled_at is not None or user.totp_secret_encrypted is None:
        return None
    secret = secret_box.decrypt(user.totp_secret_encrypted)
    step = verify_totp(secret, code, at=now, last_used_step=user.totp_last_step)
    if step is None:
        return None
    user.totp_enrolled_at = now
    user.totp_last_step = step
    return await replace_recovery_codes(db, user, settings)


async def replace_recovery_codes(db: AsyncSession, user: User, settings: Settings) -> list[str]:
    """Ten new recovery codes for ``user`` (stored hashed); any earlier ones stop working."""
    codes = new_recovery_codes(RECOVERY_CODE_COUNT)
    key = settings.secret_key.get_secret_value()
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    rows = [{"user_id": user.id, "code_hash": hash_recovery_code(c, key=key)} for c in codes]
    await db.execute(insert(RecoveryCode), rows)
    return codes
