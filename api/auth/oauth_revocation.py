"""Token revocation (RFC 7009) and introspection (RFC 7662) for both kinds of token:
opaque refresh tokens (looked up by digest) and JWT access tokens (verified, by ``jti``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy import select, update

from api.auth.access_tokens import AccessClaims, InvalidAccessTokenError
from api.auth.oauth_models import PortalClient, PortalRefreshToken, digest
from api.auth.oauth_request import current_db
from api.services.dates import utc_now
from db.models import RefreshToken, RevokedAccessToken, TokenFamily

CLIENT_AUTH = ["client_secret_basic", "client_secret_post", "none"]


@dataclass
class AccessTokenRef:
    """A verified access JWT presented to revocation or introspection."""

    claims: AccessClaims

    def check_client(self, client: PortalClient) -> bool:
        return self.claims.client_id == client.client_id

    def is_expired(self) -> bool:
        return self.claims.expires_at <= int(utc_now().timestamp())

    def is_revoked(self) -> bool:
        db = current_db()
        if db.get(RevokedAccessToken, self.claims.jti) is not None:
            return True
        if self.claims.family is None:
            return False
        family = db.scalar(select(TokenFamily).where(TokenFamily.family_key == self.claims.family))
        # As the resource server decides (api.auth.authenticate): a family past its
        # absolute lifetime ends its access tokens too.
        return family is None or family.revoked_at is not None or family.expires_at <= utc_now()


def find_token(
    server: Any, token: str, hint: str | None
) -> AccessTokenRef | PortalRefreshToken | None:
    """Either kind, whatever the hint says (RFC 7009 §2.1: the hint is only a hint)."""
    try:
        return AccessTokenRef(server.issuer.verify(token))
    except InvalidAccessTokenError:
        pass
    db = current_db()
    row = db.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(token)))
    if row is None:
        return None
    return PortalRefreshToken(row=row, family=db.get_one(TokenFamily, row.family_id))


class PortalRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(self.server, token_string, token_type_hint)

    def revoke_token(self, token: Any, request: Any) -> None:
        """A refresh token takes its whole family with it; an access token just itself."""
        db = current_db()
        if isinstance(token, PortalRefreshToken):
            db.execute(
                update(TokenFamily)
                .where(TokenFamily.id == token.family.id, TokenFamily.revoked_at.is_(None))
                .values(revoked_at=utc_now(), revoked_reason="revoked by client")
            )
        elif db.get(RevokedAccessToken, token.claims.jti) is None:
            expires = dt.datetime.fromtimestamp(token.claims.expires_at, dt.UTC)
            db.add(RevokedAccessToken(jti=token.claims.jti, expires_at=expires))


class PortalIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    """Confidential clients (resource servers) may introspect any token; a public client
    only its own."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(self.server, token_string, token_type_hint)

    def check_permission(self, token: Any, client: PortalClient, request: Any) -> bool:
        return not client.is_public or bool(token.check_client(client))

    def introspect_token(self, token: Any) -> dict[str, Any]:
        if isinstance(token, PortalRefreshToken):
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": token.family.client_id,
                "scope": token.family.scope,
                "sub": f"user:{token.family.user_id}",
                "exp": int(token.row.expires_at.timestamp()),
            }
        claims = token.claims
        return {
            "active": True,
            "token_type": "Bearer",
            "client_id": claims.client_id,
            "scope": " ".join(sorted(claims.scopes)),
            "sub": claims.subject,
            "exp": claims.expires_at,
            "jti": claims.jti,
            "iss": self.server.issuer.issuer,
            "aud": self.server.issuer.audience,
        }
