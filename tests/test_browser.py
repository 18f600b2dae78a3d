"""A real browser (Debian's Chromium, driven by Playwright) signs in through the pages and
ends with a token that reads `viewer` (SPEC §3 sign-in pages)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from playwright.async_api import Route, async_playwright

from db.demo_identity import DEMO_PASSWORD, PORTAL_CLIENT
from tests.live_server import live_server, portal_env

CHROMIUM = "/usr/bin/chromium"
REDIRECT = "http://localhost:5173/callback"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.environ.get("CI"),
    reason="needs Debian's chromium (CI installs it; `apt-get install chromium` here)",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with live_server(portal_env(tmp_path)) as base:
        yield base


def _authorize_url(base: str, verifier: str) -> str:
    query = {
        "response_type": "code",
        "client_id": PORTAL_CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "group:read eligibility:read",
        "state": "browser-state",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return f"{base}/oauth/authorize?{urlencode(query)}"


async def _sign_in_in_chromium(authorize_url: str) -> str:
    """Fill the sign-in form like a person; returns the URL the portal was sent back to."""
    landed: list[str] = []

    async def catch_callback(route: Route) -> None:
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>signed in</p>")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page()
        await page.route(f"{REDIRECT}**", catch_callback)
        await page.goto(authorize_url)
        await page.get_by_role("heading", level=1).wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "signin-page.png"), full_page=True)
        await page.get_by_label("Email").fill("leader@demo.test")
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{REDIRECT}**")
        await browser.close()
    return landed[0]


async def test_browser_sign_in_ends_with_a_token_that_reads_viewer(server: str) -> None:
    # given an authorization request with PKCE
    verifier = generate_token(64)
    # when a person signs in through the pages in Chromium
    callback = await _sign_in_in_chromium(_authorize_url(server, verifier))
    # then the portal gets a code and state, and the code buys a token that reads viewer
    params = dict(pair.split("=", 1) for pair in callback.split("?", 1)[1].split("&"))
    assert params["state"] == "browser-state"
    async with httpx.AsyncClient(base_url=server) as http:
        token = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": REDIRECT,
                "client_id": PORTAL_CLIENT,
                "code_verifier": verifier,
            },
        )
        access = token.json()["access_token"]
        viewer = await http.post(
            "/graphql",
            json={"query": "{ viewer { email } }"},
            headers={"Authorization": f"Bearer {access}"},
        )
    assert viewer.json() == {"data": {"viewer": {"email": "leader@demo.test"}}}
