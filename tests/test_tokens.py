"""Bearer tokens at the API: only unexpired RS256 JWTs we issued, for our audience, from
live users and families, are accepted; everything else is 401 UNAUTHENTICATED."""

from __future__ import annotations

import base64
import time

import httpx
import orjson
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.access_tokens import TokenIssuer
from api.auth.keys import SigningKeys
from api.auth.policy import ALL_SCOPES
from db.models import User, UserStatus
from tests.helpers import Tokens, graphql

VIEWER = "{ viewer { subject } }"


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


async def test_a_valid_token_reads_viewer(anonymous: httpx.AsyncClient, tokens: Tokens) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, VIEWER, token=token)
    assert response.json()["data"]["viewer"]["subject"].startswith("user:")


async def test_no_token_is_unauthenticated(anonymous: httpx.AsyncClient) -> None:
    _assert_unauthenticated(await graphql(anonymous, VIEWER))


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer not.a.jwt", "token"])
async def test_malformed_credentials_are_unauthenticated(
    anonymous: httpx.AsyncClient, header: str
) -> None:
    response = await anonymous.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": header}
    )
    _assert_unauthenticated(response)


async def test_expired_token(
    anonymous: httpx.AsyncClient, tokens: Tokens, issuer: TokenIssuer
) -> None:
    user_id = await tokens.user_id("leader@demo.test")
    old = issuer.issue(
        subject=f"user:{user_id}",
        client_id="portal-web",
        scope="group:read",
        family=None,
        now=int(time.time()) - 3600,
    )
    _assert_unauthenticated(await graphql(anonymous, VIEWER, token=old))


async def test_alg_none_token(anonymous: httpx.AsyncClient, tokens: Tokens) -> None:
    genuine = await tokens.for_user("admin@demo.test", ALL_SCOPES)
    payload = genuine.split(".")[1]
    forged = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}."
    _assert_unauthenticated(await graphql(anonymous, VIEWER, token=forged))


async def test_token_signed_by_another_key(
    anonymous: httpx.AsyncClient, tokens: Tokens, issuer: TokenIssuer
) -> None:
    stranger = SigningKeys(private=RSAKey.generate_key(2048, private=True, auto_kid=True))
    forger = TokenIssuer(
        keys=stranger, issuer=issuer.issuer, audience=issuer.audience, lifetime_seconds=600
    )
    user_id = await tokens.user_id("admin@demo.test")
    forged = forger.issue(
        subject=f"user:{user_id}", client_id="portal-web", scope="group:read", family=None
    )
    _assert_unauthenticated(await graphql(anonymous, VIEWER, token=forged))


async def test_token_for_another_audience(
    anonymous: httpx.AsyncClient, tokens: Tokens, issuer: TokenIssuer
) -> None:
    elsewhere = TokenIssuer(
        keys=issuer.keys, issuer=issuer.issuer, audience="another-api", lifetime_seconds=600
    )
    user_id = await tokens.user_id("admin@demo.test")
    token = elsewhere.issue(
        subject=f"user:{user_id}", client_id="portal-web", scope="group:read", family=None
    )
    _assert_unauthenticated(await graphql(anonymous, VIEWER, token=token))


async def test_disabled_user_is_refused_while_the_token_is_still_valid(
    anonymous: httpx.AsyncClient, tokens: Tokens, connection: AsyncConnection
) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    await connection.execute(
        update(User).where(User.email_key == "leader@demo.test").values(status=UserStatus.DISABLED)
    )
    _assert_unauthenticated(await graphql(anonymous, VIEWER, token=token))
