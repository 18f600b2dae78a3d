"""The access-support story of issue 9 end to end, on `portal serve` with a real SMTP
server on loopback and a real browser (Debian's Chromium, driven by Playwright):

a benefit leader locks themselves out on the sign-in page and reports it with the "Can't
sign in?" form, without a token; support finds the report in the queue, sees the lockout
and its reasons in the troubleshooting view, and under the issue's reference unlocks the
account and sends a password-reset link; the link arrives by email, the browser follows
it, sets a new password and signs in with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests import test_browser
from tests.live_server import live_server, portal_env, run_portal
from tests.test_browser import CHROMIUM
from tests.test_invitations import Mailbox, mailbox
from tests.test_password_reset_browser import LEADER, emailed_link, set_password, sign_in

__all__ = ["mailbox"]  # the loopback SMTP server fixture
pytestmark = test_browser.pytestmark  # skipped exactly when the sign-in browser test is

REFERENCE = re.compile(r"AI-[A-Z0-9]{6}")
QUEUE = """{ accessIssues(first: 10, filter: {status: [OPEN]}) {
  edges { node { reference category reporterEmail firstResponseBreached } } } }"""
TROUBLESHOOT = """query ($email: String) { userTroubleshooting(email: $email) {
  userId status locked lockedUntil recentLoginAttempts { outcome reason } } }"""
RESET = """mutation ($input: UserLoginResetInput!) { userLoginReset(input: $input) {
  user { status locked } userErrors { code message } } }"""


@pytest.fixture
def server(tmp_path: Path, mailbox: Mailbox) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**portal_env(tmp_path), "PORTAL_MAIL_MODE": "smtp",
           "PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": str(mailbox.port)}  # fmt: skip
    with live_server(env) as base:
        yield base, env


async def lock_out(page: Page, base: str) -> None:
    """Five wrong passwords in a row lock the account (SPEC §2 Web access)."""
    for _ in range(5):
        await page.goto(f"{base}/signin")
        await page.get_by_label("Email address").fill(LEADER)
        await page.get_by_label("Password", exact=True).fill("not my password at all, sorry")
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_load_state()


async def report(page: Page, base: str) -> str:
    await page.goto(f"{base}/signin")
    await page.get_by_role("link", name="Can't sign in? Report the problem").click()
    await page.get_by_label("Email address you sign in with").fill(LEADER)
    await page.get_by_label("Your name").fill("Lena Benefits")
    await page.get_by_label("What is the problem?").select_option("LOCKED_OUT")
    await page.get_by_label("What happened?").fill("I typed an old password too many times.")
    await page.get_by_role("button", name="Send to portal support").click()
    found = REFERENCE.search(await page.content())
    assert found, "no reference on the confirmation page"
    return found.group(0)


def support_token(env: dict[str, str]) -> str:
    minted = run_portal(["token", "--user", "support@demo.test", "--scope", "support:access"], env)
    assert minted.returncode == 0, minted.stderr
    return minted.stdout.strip()


async def ask(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
    body = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


async def support_unlocks_and_sends_a_link(base: str, token: str, reference: str) -> None:
    queue = await ask(base, token, QUEUE, {})
    issues = [edge["node"] for edge in queue["accessIssues"]["edges"]]
    assert {"reference": reference, "category": "LOCKED_OUT", "reporterEmail": LEADER,
            "firstResponseBreached": False} in issues  # fmt: skip
    seen = (await ask(base, token, TROUBLESHOOT, {"email": LEADER}))["userTroubleshooting"]
    assert (seen["status"], seen["locked"]) == ("LOCKED", True)
    assert seen["lockedUntil"] is not None
    reasons = [a["reason"] for a in seen["recentLoginAttempts"]]
    assert reasons.count("WRONG_PASSWORD") == 5
    actions = ["UNLOCK", "SEND_PASSWORD_RESET"]
    variables = {"input": {"userId": seen["userId"], "accessIssueReference": reference,
                           "actions": actions}}  # fmt: skip
    done = (await ask(base, token, RESET, variables))["userLoginReset"]
    assert done == {"user": {"status": "ACTIVE", "locked": False}, "userErrors": []}


async def test_a_locked_out_leader_is_helped_back_in_by_support(
    server: tuple[str, dict[str, str]], mailbox: Mailbox
) -> None:
    base, env = server
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page()
        # given a leader who locked themselves out and reported it without signing in
        await lock_out(page, base)
        reference = await report(page, base)
        # when support works the issue: unlock and a reset link, under its reference
        await support_unlocks_and_sends_a_link(base, support_token(env), reference)
        # then the link arrives by email, and the leader sets a password and signs in
        await set_password(page, await emailed_link(mailbox, base))
        heading = await sign_in(page)
        await browser.close()
    assert "signed in" in heading.lower()
    confirmations = [m for m in mailbox.received if reference in m.get_content()]
    assert confirmations, "the reporter never got the reference by email"
