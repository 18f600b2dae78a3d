"""JWT access tokens (RFC 9068): issued by the authorization server, verified on every API
request. Only RS256 with our own key is accepted: ``alg: none``, HMAC tricks and foreign
keys fail signature verification."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from api.auth.keys import ALGORITHM, SigningKeys

TOKEN_TYPE = "at+jwt"


class InvalidAccessTokenError(Exception):
    """The bearer token is not one this server issued, or no longer valid."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: str
    client_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: int
    family: str | None
    user_id: int | None


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    keys: SigningKeys
    issuer: str
    audience: str
    lifetime_seconds: int

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        scope: str,
        family: str | None,
        now: int | None = None,
    ) -> str:
        """A signed access token; ``sub`` is ``user:<id>`` or ``client:<client_id>``."""
        issued = int(time.time()) if now is None else now
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": client_id,
            "scope": scope,
            "iat": issued,
            "exp": issued + self.lifetime_seconds,
            "jti": secrets.token_hex(16),
        }
        if family is not None:
            claims["sid"] = family
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": self.keys.kid}
        return jwt.encode(header, claims, self.keys.private, algorithms=[ALGORITHM])

    def verify(self, token: str, *, now: int | None = None) -> AccessClaims:
        """The token's claims, or ``InvalidAccessTokenError`` (RFC 9068 §4 validation)."""
        try:
            decoded = jwt.decode(token, self.keys.verification_keys(), algorithms=[ALGORITHM])
            self._registry(now).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidAccessTokenError(str(exc)) from exc
        if decoded.header.get("typ", "").lower() not in {TOKEN_TYPE, "application/at+jwt"}:
            raise InvalidAccessTokenError("not an access token")
        return _claims(decoded.claims)

    def _registry(self, now: int | None) -> JWTClaimsRegistry:
        return JWTClaimsRegistry(
            now=now,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
        )


def _claims(claims: dict[str, object]) -> AccessClaims:
    subject = str(claims["sub"])
    user_id = int(subject.removeprefix("user:")) if subject.startswith("user:") else None
    family = claims.get("sid")
    return AccessClaims(
        subject=subject,
        client_id=str(claims["client_id"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        jti=str(claims["jti"]),
        expires_at=int(str(claims["exp"])),
        family=None if family is None else str(family),
        user_id=user_id,
    )
