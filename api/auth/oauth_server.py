"""The OAuth 2.0 authorization server (Authlib), wired to our tables (SPEC §3).

Grants: authorization code with PKCE (S256 only, required), refresh tokens rotated on
every use with reuse detection, client credentials. No implicit or password grant.
Access tokens are RFC 9068 JWTs (``api.auth.access_tokens``); refresh tokens are opaque
and belong to a family that one revocation ends.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, cast

from authlib.oauth2.rfc6749 import AuthorizationServer, grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import CursorResult, select, update

from api.auth.access_tokens import TokenIssuer
from api.auth.oauth_models import PortalClient, PortalCode, PortalRefreshToken, digest
from api.auth.oauth_request import current_db
from api.auth.oauth_revocation import PortalIntrospectionEndpoint, PortalRevocationEndpoint
from api.auth.policy import ALL_SCOPES
from api.services.dates import utc_now
from api.settings import Settings
from db.models import AuthorizationCode, OAuthClient, RefreshToken, TokenFamily, User, UserStatus


def revoke_families(*conditions: Any, reason: str) -> None:
    """End every token family matching ``conditions`` (and so all their tokens)."""
    current_db().execute(
        update(TokenFamily)
        .where(TokenFamily.revoked_at.is_(None), *conditions)
        .values(revoked_at=utc_now(), revoked_reason=reason)
    )


def spend_once(model: Any, row_id: int, spent_at: Any) -> bool:
    """Mark a single-use credential spent unless someone already has: a conditional UPDATE,
    so of two concurrent requests only one matches the row (on PostgreSQL the second waits
    for the first to commit, then finds it spent). True when this call spent it."""
    result = current_db().execute(
        update(model)
        .where(model.id == row_id, spent_at.is_(None))
        .values({spent_at.key: utc_now()})
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE is required for every authorization request, and only S256 (RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012  (Authlib's class attribute)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class _PortalTokens:
    """Grants issue tokens through the server with the request at hand, so that a refresh
    keeps its family (the access token's ``sid``) and a code starts a new one."""

    request: Any
    server: PortalAuthorizationServer
    GRANT_TYPE: str

    def generate_token(
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return self.server.issue_tokens(
            self.request, user=user, scope=scope or "", refresh=include_refresh_token
        )


class CodeGrant(_PortalTokens, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

    def save_authorization_code(self, code: str, request: Any) -> None:
        server: PortalAuthorizationServer = self.server
        current_db().add(
            AuthorizationCode(
                code_hash=digest(code),
                client_id=request.client.client_id,
                user_id=request.user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method="S256",
                auth_time=utc_now(),
                expires_at=utc_now()
                + dt.timedelta(seconds=server.settings.authorization_code_seconds),
            )
        )

    def query_authorization_code(self, code: str, client: PortalClient) -> PortalCode | None:
        """A code is good once, for its client, before it expires. A second use is an attack
        (RFC 6749 §4.1.2): the tokens first issued for the code are revoked too."""
        row = current_db().scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
        )
        if row is None or row.client_id != client.client_id:
            return None
        if row.used_at is not None:
            revoke_families(TokenFamily.authorization_code_id == row.id, reason="code replayed")
            return None
        return None if row.expires_at <= utc_now() else PortalCode(row)

    def delete_authorization_code(self, authorization_code: PortalCode) -> None:
        """Spend the code; a concurrent request that spent it first makes this a replay."""
        row = authorization_code.row
        if not spend_once(AuthorizationCode, row.id, AuthorizationCode.used_at):
            revoke_families(TokenFamily.authorization_code_id == row.id, reason="code replayed")
            raise InvalidGrantError("The authorization code has already been used.")

    def authenticate_user(self, authorization_code: PortalCode) -> User | None:
        return _active_user(authorization_code.row.user_id)


class RotatingRefreshGrant(_PortalTokens, grants.RefreshTokenGrant):  # type: ignore[misc]
    """Refresh tokens rotate on every use; presenting a rotated one revokes its family
    (OAuth 2.0 Security BCP, RFC 9700 §4.14.2)."""

    INCLUDE_NEW_REFRESH_TOKEN = True
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

    def authenticate_refresh_token(self, refresh_token: str) -> PortalRefreshToken | None:
        db = current_db()
        row = db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
        )
        if row is None:
            return None
        family = db.get_one(TokenFamily, row.family_id)
        if row.rotated_at is not None:
            revoke_families(TokenFamily.id == family.id, reason="refresh token reused")
            return None
        token = PortalRefreshToken(row=row, family=family)
        return None if token.is_revoked() or token.is_expired() else token

    def authenticate_user(self, refresh_token: PortalRefreshToken) -> User | None:
        """The family's user while ACTIVE; otherwise the grant is refused as invalid_grant
        (RFC 6749 §5.2), where Authlib would answer invalid_request."""
        user_id = refresh_token.family.user_id
        user = None if user_id is None else _active_user(user_id)
        if user is None:
            raise InvalidGrantError("The user of this refresh token can no longer sign in.")
        return user

    def revoke_old_credential(self, refresh_token: PortalRefreshToken) -> None:
        """Rotate; a concurrent refresh that rotated it first makes this a reuse."""
        row = refresh_token.row
        if not spend_once(RefreshToken, row.id, RefreshToken.rotated_at):
            revoke_families(TokenFamily.id == row.family_id, reason="refresh token reused")
            raise InvalidGrantError("The refresh token has already been used.")


class MachineGrant(_PortalTokens, grants.ClientCredentialsGrant):  # type: ignore[misc]
    """Client credentials for internal systems: an access token only, no refresh token."""


def _active_user(user_id: int) -> User | None:
    user = current_db().get(User, user_id)
    return user if user is not None and user.status == UserStatus.ACTIVE else None


class PortalAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, *, issuer: TokenIssuer, settings: Settings) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.issuer = issuer
        self.settings = settings
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RotatingRefreshGrant)
        self.register_grant(MachineGrant)
        self.register_endpoint(PortalRevocationEndpoint)
        self.register_endpoint(PortalIntrospectionEndpoint)

    def query_client(self, client_id: str) -> PortalClient | None:
        row = current_db().scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
        return None if row is None or row.disabled else PortalClient(row)

    def issue_tokens(
        self, request: Any, *, user: User | None, scope: str, refresh: bool
    ) -> dict[str, Any]:
        """An access JWT, and for users a refresh token; ``save_token`` records the family."""
        family_key = self._family_key(request) if user is not None else None
        subject = f"user:{user.id}" if user is not None else f"client:{request.client.client_id}"
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.issuer.issue(
                subject=subject, client_id=request.client.client_id, scope=scope, family=family_key
            ),
            "expires_in": self.issuer.lifetime_seconds,
            "scope": scope,
        }
        if user is not None and refresh:
            token["refresh_token"] = secrets.token_urlsafe(32)
        request.family_key = family_key
        return token

    @staticmethod
    def _family_key(request: Any) -> str:
        refresh = getattr(request, "refresh_token", None)
        if isinstance(refresh, PortalRefreshToken):
            return refresh.family.family_key
        return secrets.token_hex(16)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Record the family (new, or the refreshed token's) and the new refresh token."""
        family_key = getattr(request, "family_key", None)
        if family_key is None:
            return
        family = self._family_for(request, family_key, token["scope"])
        if "refresh_token" in token:
            current_db().add(
                RefreshToken(
                    token_hash=digest(token["refresh_token"]),
                    family_id=family.id,
                    issued_at=utc_now(),
                    expires_at=min(
                        utc_now() + dt.timedelta(seconds=self.settings.refresh_token_seconds),
                        family.expires_at,
                    ),
                )
            )

    def _family_for(self, request: Any, family_key: str, scope: str) -> TokenFamily:
        """A refresh keeps its family (the access token's ``sid`` is re-pointed to it);
        a code starts a new family."""
        db = current_db()
        refresh = getattr(request, "refresh_token", None)
        if isinstance(refresh, PortalRefreshToken):
            return refresh.family
        code = getattr(request, "authorization_code", None)
        family = TokenFamily(
            family_key=family_key,
            client_id=request.client.client_id,
            user_id=request.user.id,
            authorization_code_id=code.row.id if isinstance(code, PortalCode) else None,
            scope=scope,
            created_at=utc_now(),
            expires_at=utc_now() + dt.timedelta(seconds=self.settings.token_family_seconds),
        )
        db.add(family)
        db.flush()
        return family

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None
