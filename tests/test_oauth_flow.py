"""The authorization-code + PKCE flow, driven by a real OAuth client (Authlib's httpx
client) against the app: sign in, TOTP, code, token, GraphQL, refresh with rotation, reuse
detection, revocation, introspection (SPEC §3)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.services.clients import create_client
from api.settings import Settings
from db.demo_identity import DEMO_PASSWORD, PORTAL_CLIENT
from tests.helpers import graphql
from tests.oauth_browser import Browser, code_from, enroll_totp

BASE = "http://portal.test"
REDIRECT = "http://localhost:5173/callback"
SCOPE = "group:read eligibility:read"
VIEWER = "{ viewer { email scopes } }"


@pytest.fixture
async def oauth(anonymous: httpx.AsyncClient) -> AsyncIterator[AsyncOAuth2Client]:
    async with AsyncOAuth2Client(
        client_id=PORTAL_CLIENT,
        redirect_uri=REDIRECT,
        scope=SCOPE,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        transport=anonymous._transport,
        base_url=BASE,
    ) as client:
        yield client


@pytest.fixture
def browser(anonymous: httpx.AsyncClient) -> Browser:
    return Browser(anonymous)


async def _authorize(
    oauth: AsyncOAuth2Client, browser: Browser, email: str, totp: str | None
) -> tuple[dict[str, str], str, str]:
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier)
    response = await browser.sign_in(url, email, DEMO_PASSWORD, totp)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return code_from(location), state, verifier


async def _token(
    oauth: AsyncOAuth2Client,
    browser: Browser,
    email: str = "leader@demo.test",
    totp: str | None = None,
) -> dict[str, str]:
    params, state, verifier = await _authorize(oauth, browser, email, totp)
    assert params["state"] == state
    callback = f"{REDIRECT}?code={params['code']}&state={state}"
    token: dict[str, str] = await oauth.fetch_token(
        f"{BASE}/oauth/token", authorization_response=callback, code_verifier=verifier
    )
    return token


async def test_code_flow_with_totp_ends_in_a_token_that_reads_viewer(
    oauth: AsyncOAuth2Client,
    browser: Browser,
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    settings: Settings,
) -> None:
    # given a rep with an authenticator app
    secret = await enroll_totp(connection, "rep@demo.test", settings.secret_key.get_secret_value())
    # when they sign in with password and TOTP and the client redeems the code
    token = await _token(oauth, browser, "rep@demo.test", secret)
    # then the token reads the API as them, with the scopes asked for
    assert token["token_type"].lower() == "bearer"
    assert token["refresh_token"]
    response = await graphql(anonymous, VIEWER, token=token["access_token"])
    assert response.json()["data"]["viewer"] == {
        "email": "rep@demo.test",
        "scopes": ["eligibility:read", "group:read"],
    }


async def test_refresh_rotates_and_reuse_revokes_the_family(
    oauth: AsyncOAuth2Client, browser: Browser, anonymous: httpx.AsyncClient
) -> None:
    first = await _token(oauth, browser)
    # when refreshed, a new refresh token replaces the old one
    second = await oauth.refresh_token(f"{BASE}/oauth/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert (await graphql(anonymous, VIEWER, token=second["access_token"])).status_code == 200
    # when the old one is presented again, it is refused ...
    with pytest.raises(OAuthError, match="invalid_grant"):
        await oauth.refresh_token(f"{BASE}/oauth/token", refresh_token=first["refresh_token"])
    # ... and the whole family is revoked: the new refresh and access tokens die too
    with pytest.raises(OAuthError, match="invalid_grant"):
        await oauth.refresh_token(f"{BASE}/oauth/token", refresh_token=second["refresh_token"])
    assert (await graphql(anonymous, VIEWER, token=second["access_token"])).status_code == 401


async def test_revocation_and_introspection(
    oauth: AsyncOAuth2Client, browser: Browser, anonymous: httpx.AsyncClient
) -> None:
    token = await _token(oauth, browser)
    active = (
        await oauth.introspect_token(f"{BASE}/oauth/introspect", token=token["access_token"])
    ).json()
    assert active["active"] is True
    assert active["client_id"] == PORTAL_CLIENT
    assert set(active["scope"].split()) == set(SCOPE.split())
    # when the access token is revoked
    response = await oauth.revoke_token(f"{BASE}/oauth/revoke", token=token["access_token"])
    assert response.status_code == 200
    # then the API and introspection both refuse it, but the refresh token still works
    assert (await graphql(anonymous, VIEWER, token=token["access_token"])).status_code == 401
    inactive = (
        await oauth.introspect_token(f"{BASE}/oauth/introspect", token=token["access_token"])
    ).json()
    assert inactive == {"active": False}
    refreshed = await oauth.refresh_token(
        f"{BASE}/oauth/token", refresh_token=token["refresh_token"]
    )
    # when the refresh token is revoked, the family ends
    await oauth.revoke_token(
        f"{BASE}/oauth/revoke", token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    assert (await graphql(anonymous, VIEWER, token=refreshed["access_token"])).status_code == 401


async def test_replayed_code_is_refused_and_revokes_what_it_issued(
    oauth: AsyncOAuth2Client, browser: Browser, anonymous: httpx.AsyncClient
) -> None:
    params, state, verifier = await _authorize(oauth, browser, "leader@demo.test", None)
    callback = f"{REDIRECT}?code={params['code']}&state={state}"
    token = await oauth.fetch_token(
        f"{BASE}/oauth/token", authorization_response=callback, code_verifier=verifier
    )
    with pytest.raises(OAuthError, match="invalid_grant"):
        await oauth.fetch_token(
            f"{BASE}/oauth/token", authorization_response=callback, code_verifier=verifier
        )
    assert (await graphql(anonymous, VIEWER, token=token["access_token"])).status_code == 401


async def test_pkce_verifier_mismatch_is_refused(
    oauth: AsyncOAuth2Client, browser: Browser
) -> None:
    params, state, _verifier = await _authorize(oauth, browser, "leader@demo.test", None)
    callback = f"{REDIRECT}?code={params['code']}&state={state}"
    with pytest.raises(OAuthError, match="invalid_grant"):
        await oauth.fetch_token(
            f"{BASE}/oauth/token", authorization_response=callback, code_verifier=generate_token(64)
        )


async def test_client_credentials_for_internal_systems(anonymous: httpx.AsyncClient) -> None:
    async with AsyncOAuth2Client(
        client_id="claims-system",
        client_secret="claims-demo-secret-change-me",
        scope="group:read eligibility:read",
        transport=anonymous._transport,
        base_url=BASE,
    ) as machine:
        token = await machine.fetch_token(f"{BASE}/oauth/token", grant_type="client_credentials")
    assert "refresh_token" not in token
    response = await graphql(
        anonymous, "{ viewer { subject clientId } }", token=token["access_token"]
    )
    assert response.json()["data"]["viewer"] == {
        "subject": "client:claims-system",
        "clientId": "claims-system",
    }


@pytest.fixture
async def third_party(sessions: async_sessionmaker[AsyncSession]) -> str:
    """A client that is not first-party: its users see a consent page."""
    async with sessions() as db:
        await create_client(
            db,
            client_id="broker-portal",
            name="Broker Portal",
            scopes={"group:read", "billing:read"},
            grant_types=["authorization_code"],
            redirect_uris=[REDIRECT],
        )
        await db.commit()
    return "broker-portal"


@pytest.mark.parametrize(
    ("decision", "outcome"), [("allow", "code="), ("deny", "error=access_denied")]
)
async def test_third_party_clients_ask_for_consent(
    anonymous: httpx.AsyncClient, browser: Browser, third_party: str, decision: str, outcome: str
) -> None:
    async with AsyncOAuth2Client(
        client_id=third_party,
        redirect_uri=REDIRECT,
        scope="group:read billing:read",
        code_challenge_method="S256",
        transport=anonymous._transport,
        base_url=BASE,
    ) as client:
        url, _state = client.create_authorization_url(
            f"{BASE}/oauth/authorize", code_verifier=generate_token(64)
        )
    consent = await browser.sign_in(url, "leader@demo.test", DEMO_PASSWORD)
    assert consent.status_code == 200
    assert "Allow Broker Portal" in consent.text
    assert "See invoices, payments, balances and letters" in consent.text
    response = await browser.submit(consent, "/oauth/authorize", decision=decision)
    assert response.status_code == 302
    assert outcome in response.headers["location"]
