"""Expired and mismatched OAuth credentials at the token endpoint and the API (SPEC §3,
RFC 6749 §4.1.3, §5.2, §6): an expired authorization code, an expired refresh token, a
refresh token whose family has outlived its absolute lifetime and a code redeemed with a
different ``redirect_uri`` are refused with ``invalid_grant`` and change nothing (no code
spent, no token family or refresh token issued, nothing rotated or revoked); an access
token whose family was revoked or has expired is refused by ``/graphql`` with
``UNAUTHENTICATED``.

Codes are inserted straight into the test's transaction (as a signed-in user's authorize
request would leave them); everything after that goes over HTTP to the real app.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.access_tokens import TokenIssuer
from api.auth.oauth_models import digest
from api.services.dates import utc_now
from db.demo_identity import DEMO_CLIENT_SECRETS, DEV_REDIRECT_URIS, EDI_CLIENT, PORTAL_CLIENT
from db.models import (
    AuthorizationCode,
    RefreshToken,
    RevokedAccessToken,
    TokenFamily,
    User,
    UserStatus,
)
from tests.helpers import graphql, graphql_errors, graphql_ok

OTHER_REDIRECT, REDIRECT = DEV_REDIRECT_URIS
VERIFIER = secrets.token_urlsafe(48)
VIEWER = "{ viewer { email } }"
LEADER = "leader@demo.test"
AN_HOUR_AGO = dt.timedelta(hours=-1)


async def _issue_code(connection: AsyncConnection, *, expires_in: dt.timedelta) -> tuple[str, int]:
    """An unused code for the demo leader on the portal client, bound to ``REDIRECT``."""
    code, now = secrets.token_urlsafe(32), utc_now()
    user_id = await connection.scalar(select(User.id).where(User.email_key == LEADER))
    code_id = await connection.scalar(
        insert(AuthorizationCode)
        .values(
            code_hash=digest(code), client_id=PORTAL_CLIENT, user_id=user_id,
            redirect_uri=REDIRECT, scope="group:read", auth_time=now,
            code_challenge=create_s256_code_challenge(VERIFIER), code_challenge_method="S256",
            expires_at=now + expires_in,
        )
        .returning(AuthorizationCode.id)
    )  # fmt: skip
    assert code_id is not None
    return code, int(code_id)


async def _redeem(
    anonymous: httpx.AsyncClient, code: str, redirect_uri: str = REDIRECT
) -> httpx.Response:
    return await anonymous.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": PORTAL_CLIENT, "code_verifier": VERIFIER,
        },
    )  # fmt: skip


async def _refresh(anonymous: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await anonymous.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": PORTAL_CLIENT,
        },
    )


async def _tokens(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> tuple[dict[str, Any], int]:
    """Tokens from a freshly redeemed code, and the id of the family they started."""
    code, code_id = await _issue_code(connection, expires_in=dt.timedelta(minutes=1))
    response = await _redeem(anonymous, code)
    assert response.status_code == 200, response.text
    [family_id] = await _families(connection, code_id)
    return response.json(), family_id


async def _families(connection: AsyncConnection, code_id: int) -> list[int]:
    """Ids of the token families the code started."""
    stmt = select(TokenFamily.id).where(TokenFamily.authorization_code_id == code_id)
    return list(await connection.scalars(stmt))


async def _revocation(
    connection: AsyncConnection, family_id: int
) -> tuple[dt.datetime | None, str | None]:
    """When and why the family was revoked (``None, None`` while it is not)."""
    stmt = select(TokenFamily.revoked_at, TokenFamily.revoked_reason).where(
        TokenFamily.id == family_id
    )
    revoked_at, reason = (await connection.execute(stmt)).one()
    return revoked_at, reason


async def _used_at(connection: AsyncConnection, code_id: int) -> dt.datetime | None:
    stmt = select(AuthorizationCode.used_at).where(AuthorizationCode.id == code_id)
    used_at: dt.datetime | None = await connection.scalar(stmt)
    return used_at


async def _refresh_rows(connection: AsyncConnection, family_id: int | None = None) -> int:
    """How many refresh tokens exist, in ``family_id`` when given."""
    stmt = select(func.count()).select_from(RefreshToken)
    if family_id is not None:
        stmt = stmt.where(RefreshToken.family_id == family_id)
    count: int = await connection.scalar(stmt) or 0
    return count


async def _rotated_at(connection: AsyncConnection, refresh_token: str) -> dt.datetime | None:
    stmt = select(RefreshToken.rotated_at).where(RefreshToken.token_hash == digest(refresh_token))
    rotated_at: dt.datetime | None = await connection.scalar(stmt)
    return rotated_at


def _oauth_error(response: httpx.Response) -> str:
    """The RFC 6749 §5.2 error code of a refused token request."""
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    error: str = response.json()["error"]
    return error


async def test_an_expired_code_is_refused_and_not_spent(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a code whose lifetime ended an hour ago
    code, code_id = await _issue_code(connection, expires_in=AN_HOUR_AGO)
    refresh_tokens = await _refresh_rows(connection)
    # when the client redeems it
    response = await _redeem(anonymous, code)
    # then it is refused, and no token family or refresh token was issued for it
    assert _oauth_error(response) == "invalid_grant"
    assert await _used_at(connection, code_id) is None
    assert await _families(connection, code_id) == []
    assert await _refresh_rows(connection) == refresh_tokens


async def test_an_expired_refresh_token_is_refused_and_nothing_rotates(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a refresh token whose own lifetime has ended (its family's has not)
    token, family_id = await _tokens(anonymous, connection)
    await connection.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id)
        .values(expires_at=utc_now() + AN_HOUR_AGO)
    )
    # when the client refreshes with it
    response = await _refresh(anonymous, token["refresh_token"])
    # then it is refused: not rotated, no new refresh token, the family untouched
    assert _oauth_error(response) == "invalid_grant"
    assert await _rotated_at(connection, token["refresh_token"]) is None
    assert await _refresh_rows(connection, family_id) == 1
    assert await _revocation(connection, family_id) == (None, None)


async def test_a_refresh_token_of_a_family_past_its_absolute_lifetime_is_refused(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a refresh token still within its own lifetime, in a family past its lifetime
    token, family_id = await _tokens(anonymous, connection)
    await connection.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id)
        .values(expires_at=utc_now() + AN_HOUR_AGO)
    )
    # when the client refreshes with it
    response = await _refresh(anonymous, token["refresh_token"])
    # then it is refused: not rotated, no new refresh token, the family not revoked
    assert _oauth_error(response) == "invalid_grant"
    assert await _rotated_at(connection, token["refresh_token"]) is None
    assert await _refresh_rows(connection, family_id) == 1
    assert await _revocation(connection, family_id) == (None, None)


async def test_a_different_redirect_uri_is_refused_and_leaves_the_code_usable(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a code issued for REDIRECT, and another URI registered for the same client
    code, code_id = await _issue_code(connection, expires_in=dt.timedelta(minutes=1))
    refresh_tokens = await _refresh_rows(connection)
    # when the client redeems it with the other URI
    response = await _redeem(anonymous, code, redirect_uri=OTHER_REDIRECT)
    # then it is refused, the code is not spent and nothing was issued
    assert _oauth_error(response) == "invalid_grant"
    assert await _used_at(connection, code_id) is None
    assert await _families(connection, code_id) == []
    assert await _refresh_rows(connection) == refresh_tokens
    # and a retry with the exact URI still redeems it, once
    retry = await _redeem(anonymous, code)
    assert retry.status_code == 200, retry.text
    assert await _used_at(connection, code_id) is not None
    assert len(await _families(connection, code_id)) == 1


async def test_an_access_token_of_a_revoked_family_is_unauthenticated(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, issuer: TokenIssuer
) -> None:
    # given tokens that read the API, whose refresh token the client then revokes
    token, family_id = await _tokens(anonymous, connection)
    graphql_ok(await graphql(anonymous, VIEWER, token=token["access_token"]))
    revoked = await anonymous.post(
        "/oauth/revoke",
        data={
            "token": token["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": PORTAL_CLIENT,
        },
    )
    assert revoked.status_code == 200, revoked.text
    # when the (unexpired, never itself revoked) access token is used
    response = await graphql(anonymous, VIEWER, token=token["access_token"])
    # then the API refuses it because its family is revoked
    assert response.status_code == 401
    assert graphql_errors(response)[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    revoked_at, reason = await _revocation(connection, family_id)
    assert revoked_at is not None
    assert reason == "revoked by client"
    jti = issuer.verify(token["access_token"]).jti
    revoked_one = select(RevokedAccessToken.jti).where(RevokedAccessToken.jti == jti)
    assert await connection.scalar(revoked_one) is None


async def test_an_access_token_of_a_family_past_its_absolute_lifetime_is_unauthenticated(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given tokens that read the API, whose family's lifetime then ends
    token, family_id = await _tokens(anonymous, connection)
    graphql_ok(await graphql(anonymous, VIEWER, token=token["access_token"]))
    await connection.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id)
        .values(expires_at=utc_now() + AN_HOUR_AGO)
    )
    # when the (itself unexpired) access token is used
    response = await graphql(anonymous, VIEWER, token=token["access_token"])
    # then the API refuses it, and introspection agrees
    assert response.status_code == 401
    assert graphql_errors(response)[0]["extensions"]["code"] == "UNAUTHENTICATED"
    introspected = await anonymous.post(
        "/oauth/introspect",
        data={"token": token["access_token"]},
        auth=(EDI_CLIENT, DEMO_CLIENT_SECRETS[EDI_CLIENT]),
    )
    assert introspected.status_code == 200
    assert introspected.json() == {"active": False}


async def test_a_refresh_for_a_disabled_user_is_an_invalid_grant(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given tokens of a user who is then disabled
    token, family_id = await _tokens(anonymous, connection)
    await connection.execute(
        update(User).where(User.email_key == LEADER).values(status=UserStatus.DISABLED)
    )
    # when the refresh token is used
    response = await _refresh(anonymous, token["refresh_token"])
    # then it is refused as invalid_grant (RFC 6749 §5.2), and nothing rotated
    assert response.status_code == 400
    assert _oauth_error(response) == "invalid_grant"
    assert await _rotated_at(connection, token["refresh_token"]) is None
    assert await _refresh_rows(connection, family_id) == 1
