"""Invitation links end to end (SPEC §2 Web access, §3): the email reaches a real SMTP
server on loopback, its link opens the set-password page, works once, expires, names its
own user only, and the user can then sign in."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.app import create_app
from api.auth.passwords import verify_password
from api.auth.web import CSRF_COOKIE
from api.services.mail import deliver_due
from api.settings import Settings
from db.models import AuditEvent, Invitation, OutboundEmail, User, UserStatus
from tests.helpers import global_id
from tests.oauth_browser import hidden_fields
from tests.test_web_access import (
    DEACTIVATE,
    RESEND,
    group_gid,
    invitation_link,
    mutate,
    provision,
    user_id,
)

PASSWORD = "copper kettle drifting moonward"
ACCEPT = "/invitations/accept"


@dataclass
class Mailbox:
    """What the loopback SMTP server received."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
async def browser(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser without credentials (cookies persist) on the real app."""
    app = create_app(settings, sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def open_form(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await browser.get(ACCEPT, params={"token": token})
    assert page.status_code == 200, page.text
    return page


async def submit(
    browser: httpx.AsyncClient, page: httpx.Response, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    """Posts the page's form as a browser would: its hidden fields and the passwords."""
    fields = {**hidden_fields(page.text), "password": password, "password_confirm": password}
    return await browser.post(ACCEPT, data={**fields, **extra})


async def accept(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    return await submit(browser, await open_form(browser, token))


async def invited(client: httpx.AsyncClient, connection: AsyncConnection, address: str) -> str:
    """A rep provisions ``address`` on G100003; returns the token of the emailed link."""
    await provision(client, connection, "G100003", address)
    _link, token = await invitation_link(connection, address)
    return token


async def load_user(connection: AsyncConnection, address: str) -> Any:
    return (await connection.execute(select(User).where(User.email_key == address))).one()


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


# --- the whole way ----------------------------------------------------------------------


async def test_the_emailed_link_sets_the_password_once_and_the_user_signs_in(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    connection: AsyncConnection,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,
) -> None:
    # given a rep provisions a leader, and the outbox delivers over SMTP
    await provision(client, connection, "G100003", "pat@acme.example")
    smtp = settings.model_copy(update={"mail_mode": "smtp", "smtp_port": mailbox.port})
    await deliver_due(sessions, smtp)
    [message] = [m for m in mailbox.received if m["To"] == "pat@acme.example"]
    body = message.get_content()
    link = re.search(r"\S+/invitations/accept\?token=\S+", body)
    assert link, body
    url = urlsplit(link.group(0))
    assert f"{url.scheme}://{url.netloc}" == settings.issuer
    stored = await connection.scalar(
        select(OutboundEmail.body_text).where(OutboundEmail.to_address == "pat@acme.example")
    )
    assert stored is not None
    assert url.query not in stored, "a sent link is not kept in the outbox"
    assert "/invitations/accept?token=[removed once sent]" in stored

    # when the person opens the link and chooses a password
    page = await browser.get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    assert "Set up your account" in page.text
    assert 'value="pat@acme.example"' in page.text
    done = await submit(browser, page)

    # then the account is active with that password, once
    assert done.status_code == 200, done.text
    assert "Your account is ready" in done.text
    assert 'href="/signin"' in done.text
    user = await load_user(connection, "pat@acme.example")
    assert user.status is UserStatus.ACTIVE
    assert verify_password(PASSWORD, user.password_hash).ok
    again = await submit(browser, page, password="another phrase entirely different")
    assert again.status_code == 410
    assert "already been used" in again.text
    assert (await browser.get(f"{url.path}?{url.query}")).status_code == 410
    assert verify_password(
        PASSWORD, (await load_user(connection, "pat@acme.example")).password_hash
    ).ok
    audited = select(func.count()).where(
        AuditEvent.action == "invitation.accept", AuditEvent.actor_user_id == user.id
    )
    assert await connection.scalar(audited) == 1

    # and they can sign in with it
    signin = await browser.get("/signin")
    response = await browser.post(
        "/signin",
        data={**hidden_fields(signin.text), "email": "pat@acme.example", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/signin/done"
    assert "You are signed in" in (await browser.get("/signin/done")).text


# --- links that don't work --------------------------------------------------------------


async def test_an_expired_link_is_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a link whose form was opened in time, then it expired
    token = await invited(client, connection, "pat@acme.example")
    page = await open_form(browser, token)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await connection.execute(update(Invitation).values(expires_at=past))

    # when
    opened = await browser.get(ACCEPT, params={"token": token})
    posted = await submit(browser, page)

    # then
    for response in (opened, posted):
        assert response.status_code == 410
        assert "This invitation has expired" in response.text
        assert "pat@acme.example" not in response.text
    user = await load_user(connection, "pat@acme.example")
    assert user.status is UserStatus.INVITED
    assert user.password_hash is None


async def test_a_resent_invitation_replaces_the_old_link(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    old_token = await invited(client, connection, "pat@acme.example")
    old_page = await open_form(browser, old_token)
    gid = await group_gid(connection, "G100003")
    uid = global_id("PortalUser", await user_id(connection, "pat@acme.example"))
    await mutate(client, RESEND, "invitationResend", {"groupId": gid, "userId": uid})
    _link, new_token = await invitation_link(connection, "pat@acme.example")

    refused = await submit(browser, old_page)

    assert refused.status_code == 410
    assert "no longer valid" in refused.text
    assert (await accept(browser, new_token)).status_code == 200


async def test_an_unknown_link_says_nothing_about_anyone(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    token = await invited(client, connection, "pat@acme.example")

    for params in ({"token": token[:-2]}, {"token": "x" * 5000}, {}):
        response = await browser.get(ACCEPT, params=params)
        assert response.status_code == 404
        assert "doesn't work" in text_of(response)
        assert "pat@acme.example" not in response.text
        assert "Pat" not in response.text
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_a_link_of_a_deactivated_user_no_longer_works(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    user = await provision(client, connection, "G100003", "pat@acme.example")
    _link, token = await invitation_link(connection, "pat@acme.example")
    gid = await group_gid(connection, "G100003")
    payload = {"groupId": gid, "userId": user["id"]}
    await mutate(client, DEACTIVATE, "groupUserDeactivate", payload)

    response = await browser.get(ACCEPT, params={"token": token})

    assert response.status_code == 410


# --- the form ---------------------------------------------------------------------------


async def test_the_token_alone_decides_whose_password_is_set(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given two invited people; the form names neither in a field it would read back
    token_a = await invited(client, connection, "alex@acme.example")
    await invited(client, connection, "bea@acme.example")
    page = await open_form(browser, token_a)
    assert set(hidden_fields(page.text)) == {"csrf_token", "token"}
    assert 'name="email"' not in page.text
    assert 'name="username"' not in page.text

    # when someone adds fields pointing at the other person
    bea = str(await user_id(connection, "bea@acme.example"))
    done = await submit(browser, page, user_id=bea, email="bea@acme.example", username=bea)

    # then only the token's user is set up
    assert done.status_code == 200
    assert (await load_user(connection, "alex@acme.example")).status is UserStatus.ACTIVE
    bea_row = await load_user(connection, "bea@acme.example")
    assert bea_row.status is UserStatus.INVITED
    assert bea_row.password_hash is None


async def test_each_password_problem_is_shown_at_the_field_and_the_link_still_works(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    token = await invited(client, connection, "pat@acme.example")
    page = await open_form(browser, token)

    refused = await submit(browser, page, password="Newleader1")

    assert refused.status_code == 400
    text = text_of(refused)
    assert "Use at least 15 characters" in text
    assert "Leave your name and email address out of your password" in text
    assert 'id="password-error"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert (await load_user(connection, "pat@acme.example")).password_hash is None
    assert (await submit(browser, refused)).status_code == 200


async def test_the_two_passwords_must_match(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    token = await invited(client, connection, "pat@acme.example")
    page = await open_form(browser, token)

    response = await submit(browser, page, password_confirm=PASSWORD + "x")

    assert response.status_code == 400
    assert "don't match" in text_of(response)
    assert (await load_user(connection, "pat@acme.example")).status is UserStatus.INVITED


async def test_a_post_without_the_csrf_token_changes_nothing(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    token = await invited(client, connection, "pat@acme.example")
    await open_form(browser, token)
    browser.cookies.delete(CSRF_COOKIE)

    response = await browser.post(
        ACCEPT, data={"token": token, "password": PASSWORD, "password_confirm": PASSWORD}
    )

    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert (await load_user(connection, "pat@acme.example")).status is UserStatus.INVITED
