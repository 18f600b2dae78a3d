"""Bad OAuth requests are refused with the right error and change nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from db.demo_identity import PORTAL_CLIENT

REDIRECT = "http://localhost:5173/callback"
VERIFIER = "v" * 64


def _authorize(**overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": PORTAL_CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "group:read",
        "state": "xyz",
        "code_challenge": create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **overrides,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


async def test_a_good_request_asks_an_anonymous_browser_to_sign_in(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get(_authorize())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=%2Foauth%2Fauthorize")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain", "code_challenge": VERIFIER}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "no-such-scope"}, "invalid_scope"),
    ],
    ids=["plain-pkce", "no-pkce", "implicit", "unknown-scope"],
)
async def test_refusals_go_back_to_the_verified_redirect_uri(
    anonymous: httpx.AsyncClient, overrides: dict[str, str | None], error: str
) -> None:
    response = await anonymous.get(_authorize(**overrides))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    assert f"error={error}" in location
    assert "state=xyz" in location


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "http://localhost:5173/callback/evil"},
        {"redirect_uri": "https://evil.example/"},
        {"client_id": "nobody"},
    ],
    ids=["uri-suffix", "foreign-uri", "unknown-client"],
)
async def test_unverifiable_requests_get_a_page_never_a_redirect(
    anonymous: httpx.AsyncClient, overrides: dict[str, str]
) -> None:
    response = await anonymous.get(_authorize(**overrides))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_state_is_required(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(_authorize(state=None))
    assert response.status_code == 400
    assert "state" in response.text


async def test_redirect_uri_is_required(anonymous: httpx.AsyncClient) -> None:
    """Not defaulted to the client's first URI: a code is bound to the URI named."""
    response = await anonymous.get(_authorize(redirect_uri=None))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri" in response.text


@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"]
)
async def test_other_grants_are_refused(anonymous: httpx.AsyncClient, grant_type: str) -> None:
    response = await anonymous.post(
        "/oauth/token",
        data={
            "grant_type": grant_type,
            "client_id": PORTAL_CLIENT,
            "username": "leader@demo.test",
            "password": "x",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_client_secret_is_refused(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "group:read"},
        auth=("claims-system", "wrong-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_metadata_and_jwks_are_published(anonymous: httpx.AsyncClient) -> None:
    metadata = (await anonymous.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    jwks = (await anonymous.get("/.well-known/jwks.json")).json()
    assert jwks["keys"][0]["kty"] == "RSA"
    assert "d" not in jwks["keys"][0]
