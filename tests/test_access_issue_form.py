"""The "Can't sign in?" form end to end over the real app (issue 9): linked from the
sign-in page, CSRF-protected, escaped, rate-limited like the API, with a confirmation
page and email carrying the reference."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import AccessIssue, OutboundEmail
from tests.access_issue_support import REPORT, report_input
from tests.helpers import graphql, graphql_ok

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE = re.compile(r"<strong>(AI-[A-Z0-9]{6})</strong>")
NEW = "/access-issues/new"


def _fields(email: str = "locked@acme.example", **changes: str) -> dict[str, str]:
    fields = {
        "email": email,
        "name": "Pat Doe",
        "group_number": "g100001",
        "category": "LOCKED_OUT",
        "description": "Locked out after three tries this morning.",
    }
    return {**fields, **changes}


async def _csrf(browser: httpx.AsyncClient) -> str:
    page = await browser.get(NEW)
    assert page.status_code == 200, page.text
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    return match.group(1)


async def _submit(browser: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await browser.post(NEW, data={"csrf_token": await _csrf(browser), **fields})


async def test_signin_page_links_to_the_form(anonymous: httpx.AsyncClient) -> None:
    page = await anonymous.get("/signin")
    assert f'href="{NEW}"' in page.text


async def test_report_by_form_shows_the_reference_and_emails_it(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # when
    response = await _submit(anonymous, **_fields())
    # then
    assert response.status_code == 200, response.text
    match = REFERENCE.search(response.text)
    assert match, response.text
    reference = match.group(1)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    issue = (
        await connection.execute(
            select(AccessIssue.__table__).where(AccessIssue.reference == reference)
        )
    ).one()
    assert (issue.reporter_email, issue.group_number, issue.ip) == (
        "locked@acme.example",
        "G100001",
        "127.0.0.1",
    )
    email = await connection.scalar(
        select(OutboundEmail.body_text).where(
            OutboundEmail.related_type == "AccessIssue",
            OutboundEmail.related_id == str(issue.id),
        )
    )
    assert email is not None
    assert reference in email


async def test_the_form_refuses_a_post_without_the_csrf_token(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _csrf(anonymous)  # the cookie is set, the token not sent
    response = await anonymous.post(NEW, data=_fields())
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert await connection.scalar(select(AccessIssue.id)) is None


async def test_problems_are_shown_on_the_form_and_everything_is_escaped(
    anonymous: httpx.AsyncClient,
) -> None:
    hostile = '<script>alert("x")</script>'
    response = await _submit(
        anonymous, **_fields("not-an-email", name=hostile, description=hostile, category="")
    )
    assert response.status_code == 400
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text
    assert "Give the email address you sign in with" in response.text
    assert "Choose a category." in response.text
    assert 'href="#email"' in response.text


async def test_the_form_is_rate_limited_and_says_when_to_retry(
    anonymous: httpx.AsyncClient,
) -> None:
    for n in range(5):
        ok = await _submit(anonymous, **_fields(f"person{n}@acme.example"))
        assert ok.status_code == 200, ok.text
    refused = await _submit(anonymous, **_fields("person6@acme.example"))
    assert refused.status_code == 429
    retry = int(refused.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    assert f"Try again in {retry} seconds" in refused.text


async def test_the_form_and_the_api_share_the_per_email_limit(
    anonymous: httpx.AsyncClient,
) -> None:
    for _ in range(2):
        assert (await _submit(anonymous, **_fields("same@acme.example"))).status_code == 200
    by_api = await graphql(anonymous, REPORT, report_input("same@acme.example"))
    assert graphql_ok(by_api)["accessIssueReport"]["reference"]
    assert (await _submit(anonymous, **_fields("SAME@acme.example"))).status_code == 429
