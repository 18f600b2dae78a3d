"""From a bearer token to a ``Principal``, reading roles and grants from the database on
every request: a removed grant or a disabled user takes effect on the next request, even
while their token is still valid; so does a revoked token family or token."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.access_tokens import AccessClaims, InvalidAccessTokenError, TokenIssuer
from api.auth.policy import ROLE_SCOPES, effective_scopes, leader_scopes
from api.auth.principal import Grant, Principal
from api.services.dates import utc_now
from db.models import (
    GroupGrant,
    OAuthClient,
    RevokedAccessToken,
    Role,
    TokenFamily,
    User,
    UserRole,
    UserStatus,
)


class NotAuthenticatedError(Exception):
    """No usable credentials: the response is 401 with ``UNAUTHENTICATED``."""


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticatedError("Send an access token: `Authorization: Bearer <token>`.")
    return token.strip()


async def authenticate(
    session: AsyncSession, issuer: TokenIssuer, authorization: str | None
) -> Principal:
    try:
        claims = issuer.verify(bearer_token(authorization))
    except InvalidAccessTokenError as exc:
        raise NotAuthenticatedError("The access token is invalid or expired.") from exc
    if await _revoked(session, claims):
        raise NotAuthenticatedError("The access token has been revoked.")
    if claims.user_id is None:
        return await _client_principal(session, claims)
    return await _user_principal(session, claims, claims.user_id)


async def _revoked(session: AsyncSession, claims: AccessClaims) -> bool:
    now = utc_now()
    if await session.scalar(
        select(RevokedAccessToken.jti).where(RevokedAccessToken.jti == claims.jti)
    ):
        return True
    if claims.family is None:
        return False
    family = await session.scalar(
        select(TokenFamily).where(TokenFamily.family_key == claims.family)
    )
    return family is None or family.revoked_at is not None or family.expires_at <= now


async def _client_principal(session: AsyncSession, claims: AccessClaims) -> Principal:
    """An internal system using client credentials: every group, its client's scopes."""
    client = await session.scalar(
        select(OAuthClient).where(OAuthClient.client_id == claims.client_id)
    )
    if client is None or client.disabled:
        raise NotAuthenticatedError("The client of this token is unknown or disabled.")
    allowed = client.allowed_scopes.split()
    return Principal(
        subject=claims.subject,
        scopes=effective_scopes(claims.scopes, allowed),
        internal=True,
        client_id=claims.client_id,
        token_id=claims.jti,
    )


async def _user_principal(session: AsyncSession, claims: AccessClaims, user_id: int) -> Principal:
    user = await session.get(User, user_id)
    if user is None or user.status not in {UserStatus.ACTIVE}:
        raise NotAuthenticatedError("The user of this token cannot use the portal.")
    roles = frozenset(
        (await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))).all()
    )
    grants = {
        row.group_id: Grant(
            group_id=row.group_id,
            billing=row.billing_access,
            eligibility=row.eligibility_access,
            group_admin=row.group_admin,
        )
        for row in await session.scalars(select(GroupGrant).where(GroupGrant.user_id == user_id))
    }
    return Principal(
        subject=claims.subject,
        scopes=effective_scopes(claims.scopes, _allowed_scopes(roles, grants)),
        internal=bool(roles),
        user_id=user_id,
        client_id=claims.client_id,
        roles=roles,
        grants=grants if not roles else {},
        token_id=claims.jti,
    )


def _allowed_scopes(roles: frozenset[Role], grants: dict[int, Grant]) -> frozenset[str]:
    """Staff: the union of their roles' scopes. Leaders: what their grants allow."""
    if roles:
        return frozenset().union(*(ROLE_SCOPES[role] for role in roles))
    return leader_scopes(
        billing=[g.billing for g in grants.values()],
        eligibility=[g.eligibility for g in grants.values()],
        group_admin=any(g.group_admin for g in grants.values()),
    )
