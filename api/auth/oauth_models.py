"""Our rows seen through Authlib's model interfaces (RFC 6749 client, code, token)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from api.auth.passwords import verify_password
from api.services.dates import utc_now
from db.models import AuthorizationCode, OAuthClient, RefreshToken, TokenFamily


def digest(secret: str) -> str:
    """Codes and refresh tokens are 256-bit random strings: a SHA-256 digest is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


class PortalClient(ClientMixin):  # type: ignore[misc]
    def __init__(self, row: OAuthClient) -> None:
        self.row = row
        self.client_id = row.client_id
        self.redirect_uris = row.redirect_uris.split()
        self.scopes = set(row.allowed_scopes.split())
        self.grants = set(row.grant_types.split())

    @property
    def is_public(self) -> bool:
        return self.row.client_secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Requested scopes the client may ask for; scopes it may not are dropped."""
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string matching (RFC 9700 §4.1.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.client_secret_hash is None:
            return False
        return verify_password(client_secret, self.row.client_secret_hash).ok

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grants

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grants


@dataclass
class PortalCode(AuthorizationCodeMixin):  # type: ignore[misc]
    row: AuthorizationCode

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())

    def get_nonce(self) -> None:
        return None


@dataclass
class PortalRefreshToken(TokenMixin):  # type: ignore[misc]
    row: RefreshToken
    family: TokenFamily

    def check_client(self, client: PortalClient) -> bool:
        return self.family.client_id == client.client_id

    def get_scope(self) -> str:
        return self.family.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        moment = now or utc_now()
        return self.row.expires_at <= moment or self.family.expires_at <= moment

    def is_revoked(self) -> bool:
        return self.family.revoked_at is not None or self.row.rotated_at is not None
