"""Portal users, their roles and per-group grants, and sign-in state (SPEC §2 Web access)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum, created_at_column, updated_at_column
from db.models.enums import AccessLevel, LoginFailureReason, LoginOutcome, Role, UserStatus


class User(Base):
    """A person who signs in: a benefit leader or internal staff.

    ``email_key`` is the lower-cased email, unique, so two spellings of one address are
    one user. The TOTP secret is encrypted at rest (``api.auth.totp``); passwords and
    recovery codes are stored only as argon2 hashes.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[UserStatus] = mapped_column(
        checked_enum(UserStatus, "user_status"), default=UserStatus.INVITED
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The last 30-second step whose code was accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(checked_enum(Role, "role"))


class GroupGrant(Base):
    """A benefit leader's access to one group (the delegated-administration pattern)."""

    __tablename__ = "group_grants"
    __table_args__ = (UniqueConstraint("user_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    billing_access: Mapped[AccessLevel] = mapped_column(
        checked_enum(AccessLevel, "billing_access"), default=AccessLevel.NONE
    )
    eligibility_access: Mapped[AccessLevel] = mapped_column(
        checked_enum(AccessLevel, "eligibility_access"), default=AccessLevel.NONE
    )
    group_admin: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[dt.datetime] = created_at_column()


class RecoveryCode(Base):
    """A one-time MFA recovery code, stored as a hash; ``used_at`` set when spent."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """Every sign-in attempt, for lockout and for support's troubleshooting view."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_user_at", "user_id", "at"),
        Index("ix_login_attempts_email_at", "email_key", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(String(320))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    outcome: Mapped[LoginOutcome] = mapped_column(checked_enum(LoginOutcome, "login_outcome"))
    reason: Mapped[LoginFailureReason | None] = mapped_column(
        checked_enum(LoginFailureReason, "login_failure_reason")
    )


class SignInSession(Base):
    """Server-side state of a browser sign-in (cookie holds only a random id's hash key).

    Idle timeout and absolute lifetime are checked against ``last_seen_at`` and
    ``expires_at``; ``mfa_passed_at`` is set once the second factor is verified.
    """

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    password_passed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    mfa_passed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
