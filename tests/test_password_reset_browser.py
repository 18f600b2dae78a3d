"""A real browser (Debian's Chromium, driven by Playwright) resets a password end to end on
`portal serve`: asks for a link on the sign-in page, opens it from the email that reached a
real SMTP server on loopback, sets a new password and signs in with it (issue 9)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, async_playwright

from tests import test_browser
from tests.live_server import live_server, portal_env
from tests.test_browser import CHROMIUM
from tests.test_invitations import Mailbox, mailbox

__all__ = ["mailbox"]  # the loopback SMTP server fixture, shared with the invitation tests
pytestmark = test_browser.pytestmark  # skipped exactly when the sign-in browser test is

LEADER = "leader@demo.test"
NEW_PASSWORD = "saffron glacier whistles at dawn"
LINK = re.compile(r"\S+/password-reset\?token=\S+")


@pytest.fixture
def server(tmp_path: Path, mailbox: Mailbox) -> Iterator[str]:
    """The service with its mail worker sending over SMTP to the loopback mailbox."""
    env = {
        **portal_env(tmp_path),
        "PORTAL_MAIL_MODE": "smtp",
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(mailbox.port),
    }
    with live_server(env) as base:
        yield base


async def emailed_link(mailbox: Mailbox, base: str) -> str:
    """The reset link of the email to the leader (the worker sends every few seconds), on
    the live server (the link names the configured issuer; the server's port is random)."""
    for _ in range(300):
        for message in mailbox.received:
            if message["To"] == LEADER and (found := LINK.search(message.get_content())):
                url = urlsplit(found.group(0))
                return f"{base}{url.path}?{url.query}"
        await asyncio.sleep(0.1)
    raise AssertionError("no password-reset email arrived")


async def ask_for_link(page: Page, base: str) -> None:
    await page.goto(f"{base}/signin")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email address").fill(LEADER)
    await page.get_by_role("button", name="Send the link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()


async def set_password(page: Page, link: str) -> None:
    await page.goto(link)
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_label("Type the password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Save the new password").click()
    await page.get_by_role("heading", name="Your password was changed").wait_for()


async def sign_in(page: Page) -> str:
    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_label("Email address").fill(LEADER)
    await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/signin/done")
    return await page.get_by_role("heading", level=1).inner_text()


async def test_browser_resets_the_password_from_the_email_and_signs_in(
    server: str, mailbox: Mailbox
) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page()
        # given a person who asked for a link on the sign-in page
        await ask_for_link(page, server)
        # when they open the emailed link and choose a new password
        await set_password(page, await emailed_link(mailbox, server))
        # then they sign in with it on the real sign-in page
        heading = await sign_in(page)
        await browser.close()
    assert "signed in" in heading.lower()
