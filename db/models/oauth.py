"""OAuth 2.0 clients, authorization codes and refresh-token families (SPEC §3).

Secrets are never stored: client secrets as argon2 hashes, codes and refresh tokens as
SHA-256 digests of high-entropy random strings (a fast hash suffices for 256-bit values).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, created_at_column


class OAuthClient(Base):
    """A registered client: the portal, the console (public, PKCE) or an internal system
    (confidential, client credentials). Lists are space-separated, as in OAuth."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[str] = mapped_column(Text, default="")
    allowed_scopes: Mapped[str] = mapped_column(Text)
    grant_types: Mapped[str] = mapped_column(Text)
    first_party: Mapped[bool] = mapped_column(Boolean, server_default=false())
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[dt.datetime] = created_at_column()


class AuthorizationCode(Base):
    """A one-time code (RFC 6749 §4.1) bound to client, redirect URI, user and PKCE
    challenge (RFC 7636). ``used_at`` records redemption so that a replay is detected."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TokenFamily(Base):
    """All tokens descended from one authorization: revoking the family revokes every
    access and refresh token in it (refresh reuse, code replay, sign-out, support reset).
    Access tokens carry the family id as ``sid`` so validation can check it."""

    __tablename__ = "token_families"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_key: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    authorization_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("authorization_codes.id", ondelete="SET NULL"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(100))


class RefreshToken(Base):
    """One refresh token of a family; rotated on every use (``rotated_at``)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[int] = mapped_column(
        ForeignKey("token_families.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RevokedAccessToken(Base):
    """Access tokens revoked one by one (RFC 7009) before they expire, by ``jti``."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
