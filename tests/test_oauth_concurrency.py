"""Single-use OAuth credentials under concurrent redemption, on PostgreSQL with real
committed transactions: of several simultaneous token requests with one authorization code
(or one refresh token) at most one succeeds, and the others count as a replay that revokes
what the code (or the family) issued (RFC 6749 §4.1.2, RFC 9700 §4.14.2).

The rows bypass the rolled-back test transaction, so the test removes them in a ``finally``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.auth.oauth_models import digest
from api.settings import Settings
from db.demo_identity import DEV_REDIRECT_URIS, PORTAL_CLIENT
from db.models import AuthorizationCode, RefreshToken, TokenFamily, User

pytestmark = pytest.mark.postgres_only

RACERS = 4
REDIRECT = DEV_REDIRECT_URIS[1]


@pytest.fixture
async def app_client(
    settings: Settings, committing: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, sessions=committing)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def _issue_code(sessions: async_sessionmaker[AsyncSession], verifier: str) -> tuple[str, int]:
    """A committed, unused code for the demo leader on the portal client."""
    code = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as session:
        user_id = await session.scalar(select(User.id).where(User.email_key == "leader@demo.test"))
        code_id = await session.scalar(
            insert(AuthorizationCode)
            .values(
                code_hash=digest(code), client_id=PORTAL_CLIENT, user_id=user_id,
                redirect_uri=REDIRECT, scope="group:read", auth_time=now,
                code_challenge=challenge.rstrip(b"=").decode(), code_challenge_method="S256",
                expires_at=now + dt.timedelta(minutes=1),
            )
            .returning(AuthorizationCode.id)
        )  # fmt: skip
    assert code_id is not None
    return code, int(code_id)


async def _race(client: httpx.AsyncClient, form: dict[str, str]) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(client.post("/oauth/token", data=form) for _ in range(RACERS)))
    )


async def _families(sessions: async_sessionmaker[AsyncSession], code_id: int) -> list[TokenFamily]:
    async with sessions() as session:
        stmt = select(TokenFamily).where(TokenFamily.authorization_code_id == code_id)
        return list(await session.scalars(stmt))


async def _cleanup(sessions: async_sessionmaker[AsyncSession], code_id: int) -> None:
    async with sessions.begin() as session:
        families = select(TokenFamily.id).where(TokenFamily.authorization_code_id == code_id)
        await session.execute(delete(RefreshToken).where(RefreshToken.family_id.in_(families)))
        await session.execute(
            delete(TokenFamily).where(TokenFamily.authorization_code_id == code_id)
        )
        await session.execute(delete(AuthorizationCode).where(AuthorizationCode.id == code_id))


async def test_one_code_redeemed_at_once_issues_at_most_one_token_and_counts_as_replay(
    app_client: httpx.AsyncClient, committing: async_sessionmaker[AsyncSession]
) -> None:
    # given an unused code
    verifier = secrets.token_urlsafe(48)
    code, code_id = await _issue_code(committing, verifier)
    form = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": PORTAL_CLIENT, "code_verifier": verifier,
    }  # fmt: skip
    try:
        # when several requests redeem it at the same moment
        responses = await _race(app_client, form)
        # then at most one got tokens, the rest invalid_grant, and the replay revoked all
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) <= 1, statuses
        assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code != 200)
        families = await _families(committing, code_id)
        assert all(family.revoked_at is not None for family in families)
    finally:
        await _cleanup(committing, code_id)


async def test_one_refresh_token_used_at_once_rotates_at_most_once(
    app_client: httpx.AsyncClient, committing: async_sessionmaker[AsyncSession]
) -> None:
    # given a refresh token from a code redeemed once
    verifier = secrets.token_urlsafe(48)
    code, code_id = await _issue_code(committing, verifier)
    try:
        first = await app_client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "client_id": PORTAL_CLIENT, "code_verifier": verifier,
            },
        )  # fmt: skip
        assert first.status_code == 200, first.text
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": PORTAL_CLIENT,
        }
        # when several requests refresh with it at the same moment
        responses = await _race(app_client, refresh)
        # then at most one rotated it, and the reuse revoked the family
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) <= 1, statuses
        assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code != 200)
        [family] = await _families(committing, code_id)
        assert family.revoked_at is not None
    finally:
        await _cleanup(committing, code_id)
