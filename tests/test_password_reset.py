"""Password reset over HTTP (SPEC §2 Web access; issue 9): a self-service request answers
the same for any address, the emailed link sets a password under the sign-up rules once,
expires, is withdrawn by a newer one, unlocks a locked account, ends every session and
token family, keeps MFA in force, and the request is rate-limited."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from api.app import create_app
from api.auth.pages import MFA_PATH, signin_routes
from api.auth.password_reset_pages import password_reset_routes
from api.auth.passwords import COMMON_PASSWORD, TOO_SHORT, verify_password
from api.auth.web import AuthWeb
from api.services.audit import RequestOrigin
from api.services.password_resets import ResetOutcome, ResetRefusal, complete_reset, issue_reset
from api.services.users import create_user
from api.settings import Settings
from db.demo_identity import DEMO_PASSWORD
from db.models import (
    AuditEvent,
    OutboundEmail,
    PasswordReset,
    SignInSession,
    TokenFamily,
    User,
    UserStatus,
)
from tests.helpers import Tokens, graphql
from tests.oauth_browser import enroll_totp, hidden_fields
from tests.test_signin_pages import Clock

LEADER = "leader@demo.test"
NEW_PASSWORD = "saffron glacier whistles at dawn"
REQUEST = "/password-reset/request"
RESET = "/password-reset"
LINK = re.compile(r"(\S+/password-reset\?token=([A-Za-z0-9_\-]+))")
SENT = "If an account exists for that address, we have sent a link"


async def ask_for_link(browser: httpx.AsyncClient, address: str) -> httpx.Response:
    page = await browser.get(REQUEST)
    assert page.status_code == 200, page.text
    return await browser.post(REQUEST, data={**hidden_fields(page.text), "email": address})


async def emailed_token(connection: AsyncConnection, address: str) -> str:
    """The token of the latest reset link sent to ``address``, as the outbox recorded it."""
    body = await connection.scalar(
        select(OutboundEmail.body_text)
        .where(OutboundEmail.to_address == address, OutboundEmail.kind == "password_reset")
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    )
    assert body is not None, f"no reset email to {address}"
    match = LINK.search(body)
    assert match, body
    return match.group(2)


async def reset_emails(connection: AsyncConnection, address: str) -> int:
    query = select(func.count()).where(
        OutboundEmail.to_address == address, OutboundEmail.kind == "password_reset"
    )
    return int(await connection.scalar(query) or 0)


async def open_link(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    return await browser.get(RESET, params={"token": token})


async def submit(
    browser: httpx.AsyncClient, page: httpx.Response, password: str = NEW_PASSWORD
) -> httpx.Response:
    """Posts the reset form as a browser would: its hidden fields and the password twice."""
    fields = {**hidden_fields(page.text), "password": password, "password_confirm": password}
    return await browser.post(RESET, data=fields)


async def reset_password(
    browser: httpx.AsyncClient, connection: AsyncConnection, address: str = LEADER
) -> httpx.Response:
    assert SENT in (await ask_for_link(browser, address)).text
    page = await open_link(browser, await emailed_token(connection, address))
    assert page.status_code == 200, page.text
    return await submit(browser, page)


async def sign_in(browser: httpx.AsyncClient, address: str, password: str) -> httpx.Response:
    page = await browser.get("/signin")
    fields = {**hidden_fields(page.text), "email": address, "password": password}
    return await browser.post("/signin", data=fields)


async def load_user(connection: AsyncConnection, address: str = LEADER) -> Any:
    """The user's row (columns by name), read in the test's transaction."""
    return (await connection.execute(select(User).where(User.email_key == address))).one()


async def set_status(connection: AsyncConnection, address: str, **values: object) -> None:
    await connection.execute(update(User).where(User.email_key == address).values(**values))


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


@pytest.fixture
async def other_browser(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (its own cookies) on the real app, in the test's transaction."""
    transport = httpx.ASGITransport(app=create_app(settings, sessions=sessions))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


# --- asking for a link ------------------------------------------------------------------


async def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given an active leader, an invited user and a disabled one
    await set_status(connection, "viewer@demo.test", status=UserStatus.DISABLED)
    await set_status(connection, "billing@demo.test", status=UserStatus.INVITED)

    # when each is asked for, and an address nobody has
    answers = [
        await ask_for_link(anonymous, address)
        for address in (LEADER, "nobody@acme.example", "viewer@demo.test", "billing@demo.test")
    ]

    # then every answer is the same page, and only the active account gets a link
    assert {(answer.status_code, answer.text) for answer in answers} == {
        (answers[0].status_code, answers[0].text)
    }
    assert answers[0].status_code == 200
    assert SENT in answers[0].text
    assert LEADER not in answers[0].text
    assert await reset_emails(connection, LEADER) == 1
    for address in ("nobody@acme.example", "viewer@demo.test", "billing@demo.test"):
        assert await reset_emails(connection, address) == 0


async def test_the_pages_keep_the_token_out_of_referrers_and_caches(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    sent = await ask_for_link(anonymous, LEADER)
    token = await emailed_token(connection, LEADER)

    # when
    pages = [await anonymous.get(REQUEST), sent, await open_link(anonymous, token)]

    # then
    for page in pages:
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text


async def test_a_request_without_the_csrf_token_is_refused(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    response = await anonymous.post(REQUEST, data={"email": LEADER})

    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert await reset_emails(connection, LEADER) == 0


async def test_the_sign_in_page_offers_the_reset(anonymous: httpx.AsyncClient) -> None:
    page = await anonymous.get("/signin")

    assert f'href="{REQUEST}"' in page.text
    assert "Forgot your password?" in page.text


# --- following the link -----------------------------------------------------------------


async def test_the_emailed_link_sets_the_password_and_the_user_signs_in_with_it(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a requested link
    await ask_for_link(anonymous, LEADER)
    token = await emailed_token(connection, LEADER)

    # when the person opens it and chooses a password
    page = await open_link(anonymous, token)
    assert page.status_code == 200
    assert "Choose a new password" in page.text
    assert f'value="{LEADER}"' in page.text
    done = await submit(anonymous, page)

    # then the password is changed, audited, announced, and works at sign-in
    assert done.status_code == 200, done.text
    assert "Your password was changed" in done.text
    assert 'href="/signin"' in done.text
    user = await load_user(connection)
    assert user.password_hash is not None
    assert verify_password(NEW_PASSWORD, user.password_hash).ok
    audited = select(func.count()).where(
        AuditEvent.action == "password.reset", AuditEvent.actor_user_id == user.id
    )
    assert await connection.scalar(audited) == 1
    changed = select(OutboundEmail.body_text).where(
        OutboundEmail.to_address == LEADER, OutboundEmail.kind == "password_changed"
    )
    notice = await connection.scalar(changed)
    assert notice is not None
    assert token not in notice
    signed_in = await sign_in(anonymous, LEADER, NEW_PASSWORD)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/signin/done"
    assert (await sign_in(anonymous, LEADER, DEMO_PASSWORD)).status_code == 400


@pytest.mark.parametrize(
    ("password", "rule"),
    [("short phrase", TOO_SHORT.message), ("1qaz2wsx3edc4rfv", COMMON_PASSWORD.message)],
)
async def test_weak_or_breached_passwords_are_refused_with_the_rule(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, password: str, rule: str
) -> None:
    # given
    await ask_for_link(anonymous, LEADER)
    page = await open_link(anonymous, await emailed_token(connection, LEADER))

    # when
    refused = await submit(anonymous, page, password)

    # then the rule is explained, nothing changed, and the link still works
    assert refused.status_code == 400
    assert rule in text_of(refused)
    user = await load_user(connection)
    assert user.password_hash is not None
    assert verify_password(DEMO_PASSWORD, user.password_hash).ok
    assert (await submit(anonymous, refused)).status_code == 200


async def test_the_two_passwords_must_match(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await ask_for_link(anonymous, LEADER)
    page = await open_link(anonymous, await emailed_token(connection, LEADER))
    fields = {**hidden_fields(page.text), "password": NEW_PASSWORD, "password_confirm": "x"}

    refused = await anonymous.post(RESET, data=fields)

    assert refused.status_code == 400
    assert "don't match" in text_of(refused)


async def test_the_link_works_once(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a link already used
    await ask_for_link(anonymous, LEADER)
    token = await emailed_token(connection, LEADER)
    page = await open_link(anonymous, token)
    assert (await submit(anonymous, page)).status_code == 200

    # when it is used again
    again = await submit(anonymous, page, "another phrase entirely different")
    opened = await open_link(anonymous, token)

    # then
    assert again.status_code == opened.status_code == 410
    assert "already been used" in again.text
    assert LEADER not in again.text
    user = await load_user(connection)
    assert user.password_hash is not None
    assert verify_password(NEW_PASSWORD, user.password_hash).ok


async def test_an_expired_link_is_refused(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a link whose form was opened in time, then it expired
    await ask_for_link(anonymous, LEADER)
    token = await emailed_token(connection, LEADER)
    page = await open_link(anonymous, token)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await connection.execute(update(PasswordReset).values(expires_at=past))

    # when
    opened, posted = await open_link(anonymous, token), await submit(anonymous, page)

    # then
    assert opened.status_code == posted.status_code == 410
    assert "has expired" in posted.text
    assert LEADER not in posted.text
    user = await load_user(connection)
    assert user.password_hash is not None
    assert verify_password(DEMO_PASSWORD, user.password_hash).ok


async def test_a_newer_link_withdraws_the_older(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given two requests
    await ask_for_link(anonymous, LEADER)
    older = await emailed_token(connection, LEADER)
    await ask_for_link(anonymous, LEADER)
    newer = await emailed_token(connection, LEADER)

    # when / then
    withdrawn = await open_link(anonymous, older)
    assert withdrawn.status_code == 410
    assert "no longer valid" in withdrawn.text
    assert (await open_link(anonymous, newer)).status_code == 200


async def test_an_unknown_token_is_refused_without_a_name(anonymous: httpx.AsyncClient) -> None:
    response = await open_link(anonymous, "not-a-real-token")

    assert response.status_code == 404
    assert "doesn't work" in text_of(response)


# --- what the reset does to the account -------------------------------------------------


async def test_the_reset_ends_every_session_and_token_and_keeps_mfa(
    anonymous: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    connection: AsyncConnection,
    settings: Settings,
    tokens: Tokens,
) -> None:
    # given a leader with an authenticator, signed in on another browser and holding a token
    secret = await enroll_totp(connection, LEADER, settings.secret_key.get_secret_value())
    await sign_in(other_browser, LEADER, DEMO_PASSWORD)
    mfa = await other_browser.get(MFA_PATH)
    fields = {**hidden_fields(mfa.text), "code": pyotp.TOTP(secret).now()}
    assert (await other_browser.post(MFA_PATH, data=fields)).status_code == 303
    assert "You are signed in" in (await other_browser.get("/signin/done")).text
    access = await _token_in_a_family(connection, tokens)
    assert (await graphql(anonymous, "{ viewer { email } }", token=access)).status_code == 200

    # when the password is reset
    assert (await reset_password(anonymous, connection)).status_code == 200

    # then nothing signed in before works, and signing in still asks for the code
    assert "You are signed in" not in (await other_browser.get("/signin/done")).text
    assert (await graphql(anonymous, "{ viewer { email } }", token=access)).status_code == 401
    user = await load_user(connection)
    assert await _still_live(connection, user.id) == (0, 0)
    assert user.totp_enrolled_at is not None
    signed_in = await sign_in(anonymous, LEADER, NEW_PASSWORD)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"].startswith(MFA_PATH)


async def _still_live(connection: AsyncConnection, user_id: int) -> tuple[int, int]:
    """How many browser sessions and token families of the user have not ended."""
    sessions = select(func.count()).where(
        SignInSession.user_id == user_id, SignInSession.ended_at.is_(None)
    )
    families = select(func.count()).where(
        TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None)
    )
    return (await connection.scalar(sessions) or 0, await connection.scalar(families) or 0)


async def _token_in_a_family(connection: AsyncConnection, tokens: Tokens) -> str:
    """An access token of a live refresh-token family of the leader."""
    now = dt.datetime.now(dt.UTC)
    await connection.execute(
        insert(TokenFamily).values(
            family_key="r" * 32, client_id="portal-web", user_id=await tokens.user_id(LEADER),
            scope="group:read", created_at=now, expires_at=now + dt.timedelta(hours=1),
        )
    )  # fmt: skip
    subject = f"user:{await tokens.user_id(LEADER)}"
    return tokens.issuer.issue(
        subject=subject, client_id="portal-web", scope="group:read", family="r" * 32
    )


async def test_a_locked_account_is_unlocked_by_the_reset(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a leader locked out for a while yet
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    await set_status(connection, LEADER, status=UserStatus.LOCKED, locked_until=until)

    # when they reset their password
    assert (await reset_password(anonymous, connection)).status_code == 200

    # then they are active again (the lock ends now: failures count afresh) and sign in
    user = await load_user(connection)
    assert user.status is UserStatus.ACTIVE
    assert user.locked_until is not None
    assert user.locked_until < until
    assert (await sign_in(anonymous, LEADER, NEW_PASSWORD)).status_code == 303


# --- rate limits ------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    """Fixed time, so the limits' fixed windows cannot roll over mid-test."""
    return Clock(dt.datetime(2026, 11, 26, 9, 0, 5, tzinfo=dt.UTC))


@pytest.fixture
async def paused(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """The reset and sign-in pages on a clock the test controls."""
    web = AuthWeb(sessions=sessions, settings=settings, clock=clock)
    app = Starlette(routes=[*signin_routes(web), *password_reset_routes(web)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def test_requests_for_one_address_are_limited_and_say_when_to_retry(
    paused: httpx.AsyncClient, connection: AsyncConnection, clock: Clock
) -> None:
    # given three requests for the address this hour
    for _ in range(3):
        assert (await ask_for_link(paused, LEADER)).status_code == 200

    # when a fourth comes
    refused = await ask_for_link(paused, LEADER)

    # then it is refused with the time left in the hour, and sends nothing
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(3600 - 5)
    assert "Try again in 60 minutes" in refused.text
    assert await reset_emails(connection, LEADER) == 3
    clock.advance(hours=1)
    assert (await ask_for_link(paused, LEADER)).status_code == 200


async def test_requests_from_one_ip_are_limited(
    paused: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given five requests from one IP for different addresses
    for number in range(5):
        assert (await ask_for_link(paused, f"someone{number}@acme.example")).status_code == 200

    # when a sixth comes, for an address that has an account
    refused = await ask_for_link(paused, LEADER)

    # then
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(15 * 60 - 5)
    assert "Try again in 15 minutes" in refused.text
    assert await reset_emails(connection, LEADER) == 0


# --- concurrent submissions -------------------------------------------------------------

RACERS = 4


@pytest.mark.postgres_only
async def test_concurrent_submissions_change_the_password_once(
    committing: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Real committed transactions racing on one link: the conditional UPDATE lets one in.
    The rows bypass the rolled-back test transaction, so the test removes them after."""
    # given a committed link for a user of the test's own
    address = f"racer-{secrets.token_hex(4)}@acme.example"
    token = await _committed_link(committing, settings, address)
    passwords = [f"racing lantern number {n} glows" for n in range(RACERS)]
    try:
        # when several submissions race
        outcomes = await asyncio.gather(*(_submit(committing, token, p) for p in passwords))

        # then exactly one changed the password, and it is that one's
        assert sorted(outcome.refusal is None for outcome in outcomes) == [False] * 3 + [True]
        assert {o.refusal for o in outcomes if o.refusal} == {ResetRefusal.USED}
        [winner] = [p for p, o in zip(passwords, outcomes, strict=True) if o.done]
        async with committing() as session:
            stored = await session.scalar(select(User.password_hash).where(User.email == address))
        assert stored is not None
        assert verify_password(winner, stored).ok
    finally:
        async with committing.begin() as session:
            await session.execute(delete(OutboundEmail).where(OutboundEmail.to_address == address))
            await session.execute(delete(User).where(User.email == address))


async def _committed_link(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, address: str
) -> str:
    async with sessions.begin() as session:
        user = await create_user(session, email=address, name="Rae Racer", password=DEMO_PASSWORD)
        await issue_reset(session, user, settings=settings, now=dt.datetime.now(dt.UTC))
        await session.flush()
        body = await session.scalar(
            select(OutboundEmail.body_text).where(OutboundEmail.to_address == address)
        )
    match = LINK.search(body or "")
    assert match, body
    return match.group(2)


async def _submit(
    sessions: async_sessionmaker[AsyncSession], token: str, password: str
) -> ResetOutcome:
    origin = RequestOrigin(ip="127.0.0.1", user_agent=None, request_id=None)
    async with sessions.begin() as session:
        now = dt.datetime.now(dt.UTC)
        return await complete_reset(session, token=token, password=password, now=now, origin=origin)
