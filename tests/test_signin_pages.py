"""The sign-in pages over HTTP (SPEC §2 Web access, §3): password, lockout, MFA, enrolment,
sessions, CSRF, open redirects and the security headers."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import argon2
import httpx
import pyotp
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from api.auth.browser_session import SESSION_COOKIE
from api.auth.pages import signin_routes
from api.auth.passwords import normalize_password
from api.auth.signin import GENERIC_FAILURE, MFA_FAILURE, replace_recovery_codes
from api.auth.totp import SecretBox, new_totp_secret
from api.auth.web import CSRF_COOKIE, AuthWeb, safe_next
from api.services.users import create_user
from api.settings import Settings
from db.models import (
    LoginAttempt,
    LoginFailureReason,
    LoginOutcome,
    RecoveryCode,
    Role,
    SignInSession,
    User,
    UserStatus,
)

PASSWORD = "vivid harbor lantern quietly"
NAME = "Robin Example"
START = dt.datetime(2026, 11, 26, 9, 0, 5, tzinfo=dt.UTC)
AUTHORIZE = "/oauth/authorize?response_type=code&client_id=portal-web&state=xyz"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """The pages' time seam (``AuthWeb.clock``), moved forward by the tests."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def web(accounts: Accounts, clock: Clock) -> AuthWeb:
    return AuthWeb(sessions=accounts.sessions, settings=accounts.settings, clock=clock)


@pytest.fixture
async def browser(web: AuthWeb) -> AsyncIterator[httpx.AsyncClient]:
    """A browser (cookies persist) talking to an app with only the sign-in routes."""
    async with _browser(web, "http://portal.test") as client:
        yield client


def _browser(web: AuthWeb, base_url: str) -> httpx.AsyncClient:
    app = Starlette(routes=signin_routes(web))
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=base_url, headers={"User-Agent": "t/1"})


# --- helpers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accounts:
    """Users made and inspected by the tests, through the test's rolled-back transaction."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings

    async def add(
        self, email: str, *, roles: Iterable[Role] = (), totp_secret: str | None = None
    ) -> int:
        async with self.sessions() as db:
            user = await create_user(db, email=email, name=NAME, password=PASSWORD, roles=roles)
            if totp_secret is not None:
                box = SecretBox(self.settings.secret_key.get_secret_value())
                user.totp_secret_encrypted = box.encrypt(totp_secret)
                user.totp_enrolled_at = START - dt.timedelta(days=30)
            await db.commit()
            return user.id

    async def get(self, user_id: int) -> User:
        async with self.sessions() as db:
            user = await db.get(User, user_id)
            assert user is not None
            return user

    async def change(self, user_id: int, **values: object) -> None:
        async with self.sessions() as db:
            await db.execute(update(User).where(User.id == user_id).values(**values))
            await db.commit()

    async def attempts(self, email: str) -> list[LoginAttempt]:
        async with self.sessions() as db:
            rows = await db.scalars(
                select(LoginAttempt)
                .where(LoginAttempt.email_key == email)
                .order_by(LoginAttempt.id)
            )
            return list(rows)

    async def sign_in_sessions(self, user_id: int) -> list[SignInSession]:
        async with self.sessions() as db:
            rows = await db.scalars(
                select(SignInSession)
                .where(SignInSession.user_id == user_id)
                .order_by(SignInSession.id)
            )
            return list(rows)


@pytest.fixture
def accounts(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Accounts:
    return Accounts(sessions, settings)


async def csrf_from(browser: httpx.AsyncClient, path: str) -> str:
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    return match.group(1)


async def post_form(
    browser: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    """Submits the form of ``page`` to ``action`` the way a browser would (with its token)."""
    token = await csrf_from(browser, page)
    return await browser.post(action, data={"csrf_token": token, **fields})


async def sign_in(
    browser: httpx.AsyncClient, email: str, password: str = PASSWORD, next_url: str = ""
) -> httpx.Response:
    query = httpx.QueryParams({"next": next_url}) if next_url else ""
    page = f"/signin?{query}" if query else "/signin"
    return await post_form(
        browser, page, "/signin", email=email, password=password, next=safe_next(next_url)
    )


async def enter_code(browser: httpx.AsyncClient, code: str) -> httpx.Response:
    return await post_form(browser, "/signin/mfa", "/signin/mfa", code=code, next=AUTHORIZE)


async def is_signed_in(browser: httpx.AsyncClient) -> bool:
    response = await browser.get("/signin/done")
    return response.status_code == 200 and "You are signed in" in response.text


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


def set_cookie_header(response: httpx.Response, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


# --- pages and headers ------------------------------------------------------------------


async def test_signin_page_is_accessible_and_sent_with_security_headers(
    browser: httpx.AsyncClient,
) -> None:
    response = await browser.get("/signin")

    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert "style-src 'self'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    assert '<html lang="en">' in page
    assert "<main" in page
    assert "<title>Sign in \N{EN DASH} Group Portal</title>" in page
    assert '<label for="email">' in page
    assert '<label for="password">' in page
    assert 'href="/auth/static/portal.css"' in page
    assert "<script" not in page


async def test_stylesheet_is_served_by_the_app(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/static/portal.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ".error-summary" in response.text


# --- CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["no field", "wrong field", "no cookie", "forged cookie"])
async def test_post_without_a_matching_csrf_token_is_refused_and_not_recorded(
    browser: httpx.AsyncClient, accounts: Accounts, case: str
) -> None:
    # given a real user and a browser that has the sign-in page's token
    await accounts.add("csrf@acme.example")
    token = await csrf_from(browser, "/signin")
    form = {"email": "csrf@acme.example", "password": PASSWORD, "csrf_token": token}
    if case == "no field":
        del form["csrf_token"]
    elif case == "wrong field":
        form["csrf_token"] = token[:-1] + ("0" if token[-1] != "0" else "1")
    elif case == "no cookie":
        browser.cookies.clear()
    else:  # a cookie and field the attacker chose alike, but not signed by the server
        forged = "attacker-nonce.0000"
        browser.cookies.clear()
        browser.cookies.set(CSRF_COOKIE, forged, domain="portal.test")
        form["csrf_token"] = forged

    # when
    response = await browser.post("/signin", data=form)

    # then
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert 'role="alert"' in response.text
    assert await accounts.attempts("csrf@acme.example") == []
    assert SESSION_COOKIE not in response.cookies


# --- password step ----------------------------------------------------------------------


async def test_wrong_password_and_unknown_email_look_the_same(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    await accounts.add("known@acme.example")

    wrong = await sign_in(browser, "known@acme.example", "not the right password at all")
    unknown = await sign_in(browser, "nobody@acme.example", PASSWORD)

    assert wrong.status_code == unknown.status_code == 400
    assert GENERIC_FAILURE in text_of(wrong)
    same_wrong = text_of(wrong).replace("known@acme.example", "EMAIL")
    same_unknown = text_of(unknown).replace("nobody@acme.example", "EMAIL")
    assert same_wrong == same_unknown
    assert SESSION_COOKIE not in wrong.cookies
    assert 'role="alert"' in wrong.text


async def test_attempts_are_recorded_with_the_reason(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    user_id = await accounts.add("Record@Acme.example")

    await sign_in(browser, "record@acme.example", "not the right password at all")
    await sign_in(browser, "ghost@acme.example")
    success = await sign_in(browser, " RECORD@acme.example ")

    assert success.status_code == 303
    recorded = await accounts.attempts("record@acme.example")
    assert [(a.outcome, a.reason, a.user_id) for a in recorded] == [
        (LoginOutcome.FAILURE, LoginFailureReason.WRONG_PASSWORD, user_id),
        (LoginOutcome.SUCCESS, None, user_id),
    ]
    [ghost] = await accounts.attempts("ghost@acme.example")
    assert (ghost.reason, ghost.user_id) == (LoginFailureReason.UNKNOWN_EMAIL, None)
    assert recorded[-1].user_agent == "t/1"
    assert recorded[-1].ip is not None
    assert (await accounts.get(user_id)).last_sign_in_at == clock.now


async def test_five_failures_lock_the_account_until_the_lock_expires(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    # given five wrong passwords within the 15-minute window
    user_id = await accounts.add("locked@acme.example")
    for _ in range(5):
        await sign_in(browser, "locked@acme.example", "not the right password at all")
        clock.advance(minutes=2)
    user = await accounts.get(user_id)
    assert user.status is UserStatus.LOCKED

    # when the right password comes next, it fails like any other failure
    refused = await sign_in(browser, "locked@acme.example")
    assert refused.status_code == 400
    assert GENERIC_FAILURE in text_of(refused)
    assert (await accounts.attempts("locked@acme.example"))[-1].reason is LoginFailureReason.LOCKED

    # then once the lock has expired, the right password works and the account is active
    clock.advance(minutes=15)
    accepted = await sign_in(browser, "locked@acme.example")
    assert accepted.status_code == 303
    assert (await accounts.get(user_id)).status is UserStatus.ACTIVE


async def test_failures_outside_the_window_do_not_lock(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    user_id = await accounts.add("slow@acme.example")
    for _ in range(5):
        await sign_in(browser, "slow@acme.example", "not the right password at all")
        clock.advance(minutes=4)

    assert (await accounts.get(user_id)).status is UserStatus.ACTIVE


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (UserStatus.DISABLED, LoginFailureReason.DISABLED),
        (UserStatus.INVITED, LoginFailureReason.NOT_ACTIVATED),
    ],
)
async def test_inactive_accounts_are_refused(
    browser: httpx.AsyncClient,
    accounts: Accounts,
    status: UserStatus,
    reason: LoginFailureReason,
) -> None:
    user_id = await accounts.add("inactive@acme.example")
    await accounts.change(user_id, status=status)

    response = await sign_in(browser, "inactive@acme.example")

    assert response.status_code == 400
    assert GENERIC_FAILURE in text_of(response)
    assert (await accounts.attempts("inactive@acme.example"))[-1].reason is reason


async def test_outdated_password_hash_is_replaced_at_sign_in(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    user_id = await accounts.add("rehash@acme.example")
    old_hash = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash(
        normalize_password(PASSWORD)
    )
    await accounts.change(user_id, password_hash=old_hash)

    assert (await sign_in(browser, "rehash@acme.example")).status_code == 303

    new_hash = (await accounts.get(user_id)).password_hash
    assert new_hash is not None
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$")


# --- where to go next -------------------------------------------------------------------


async def test_group_user_without_mfa_goes_straight_to_next(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    await accounts.add("leader@acme.example")

    response = await sign_in(browser, "leader@acme.example", next_url=AUTHORIZE)

    assert response.status_code == 303
    assert response.headers["location"] == AUTHORIZE
    assert await is_signed_in(browser)


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/oauth/authorize",
        "/\\evil.example/oauth/authorize",
        "https://evil.example/oauth/authorize",
        "/oauth/authorize.evil",
        "/graphql",
        "javascript:alert(1)",
        "/oauth/authorize\r\nSet-Cookie: x=1",
    ],
)
async def test_next_outside_the_authorization_endpoint_is_not_followed(
    browser: httpx.AsyncClient, accounts: Accounts, next_url: str
) -> None:
    await accounts.add("redirect@acme.example")
    token = await csrf_from(browser, "/signin")

    response = await browser.post(
        "/signin",
        data={
            "csrf_token": token,
            "email": "redirect@acme.example",
            "password": PASSWORD,
            "next": next_url,
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/signin/done"


def test_next_keeps_the_authorization_request() -> None:
    assert safe_next(AUTHORIZE) == AUTHORIZE
    assert safe_next("/oauth/authorize") == "/oauth/authorize"
    assert safe_next(None) == "/signin/done"


async def test_signin_page_carries_next_in_the_form(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/signin", params={"next": AUTHORIZE})

    assert f'name="next" value="{html.escape(AUTHORIZE)}"' in page.text


# --- second factor ----------------------------------------------------------------------


async def test_user_with_totp_signs_in_with_a_current_code(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    # given a group user who enrolled TOTP
    secret = new_totp_secret()
    user_id = await accounts.add("totp@acme.example", totp_secret=secret)

    # when the password is right, the second factor is still missing
    response = await sign_in(browser, "totp@acme.example", next_url=AUTHORIZE)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin/mfa?next=")
    assert not await is_signed_in(browser)
    page = await browser.get(response.headers["location"])
    assert '<label for="code">' in page.text
    assert f'name="next" value="{html.escape(AUTHORIZE)}"' in page.text

    # then a code from the authenticator completes sign-in
    before = browser.cookies[SESSION_COOKIE]
    done = await enter_code(browser, pyotp.TOTP(secret).at(clock.now))
    assert done.status_code == 303
    assert done.headers["location"] == AUTHORIZE
    assert browser.cookies[SESSION_COOKIE] != before  # a new token after the privilege change
    assert await is_signed_in(browser)
    assert (await accounts.get(user_id)).totp_last_step == int(clock.now.timestamp()) // 30


async def test_replayed_totp_code_is_refused(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    secret = new_totp_secret()
    await accounts.add("replay@acme.example", totp_secret=secret)
    code = pyotp.TOTP(secret).at(clock.now)
    await sign_in(browser, "replay@acme.example")
    assert (await enter_code(browser, code)).status_code == 303

    clock.advance(seconds=5)
    await sign_in(browser, "replay@acme.example")
    again = await enter_code(browser, code)

    assert again.status_code == 400
    assert MFA_FAILURE in text_of(again)
    assert not await is_signed_in(browser)
    reasons = [a.reason for a in await accounts.attempts("replay@acme.example")]
    assert reasons[-1] is LoginFailureReason.MFA_FAILED


async def test_recovery_code_works_once(browser: httpx.AsyncClient, accounts: Accounts) -> None:
    user_id = await accounts.add("recover@acme.example", totp_secret=new_totp_secret())
    async with accounts.sessions() as db:
        user = await db.get(User, user_id)
        assert user is not None
        codes = await replace_recovery_codes(db, user, accounts.settings)
        await db.commit()
    typed = codes[3].lower().replace("-", " ")

    await sign_in(browser, "recover@acme.example")
    assert (await enter_code(browser, typed)).status_code == 303
    assert await is_signed_in(browser)

    await sign_in(browser, "recover@acme.example")
    assert (await enter_code(browser, codes[3])).status_code == 400
    async with accounts.sessions() as db:
        used = await db.scalar(
            select(func.count()).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_not(None)
            )
        )
    assert used == 1


async def test_wrong_codes_count_towards_lockout(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    secret = new_totp_secret()
    user_id = await accounts.add("guess@acme.example", totp_secret=secret)
    await sign_in(browser, "guess@acme.example")
    for guess in ("000000", "111111", "222222", "333333", "444444"):
        assert (await enter_code(browser, guess)).status_code == 400

    refused = await enter_code(browser, pyotp.TOTP(secret).at(clock.now))

    assert refused.status_code == 400
    assert (await accounts.get(user_id)).status is UserStatus.LOCKED
    assert (await accounts.attempts("guess@acme.example"))[-1].reason is LoginFailureReason.LOCKED


# --- enrolment --------------------------------------------------------------------------


async def test_rep_without_totp_enrols_before_being_signed_in(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    # given a rep who has no authenticator yet
    user_id = await accounts.add("newrep@carrier.example", roles=[Role.REP])

    # when they give the right password, they must enrol first
    response = await sign_in(browser, "newrep@carrier.example", next_url=AUTHORIZE)
    assert response.headers["location"].startswith("/mfa/enroll?next=")
    assert not await is_signed_in(browser)
    page = await browser.get(response.headers["location"])
    assert page.status_code == 200
    assert "<svg" in page.text
    secret_text = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text)
    assert secret_text
    secret = secret_text.group(1).replace(" ", "")
    assert (await browser.get("/mfa/enroll")).text.count(secret_text.group(1)) == 1  # same key

    # then a code from the new authenticator confirms it and recovery codes are shown once
    token = CSRF_INPUT.search(page.text)
    assert token
    confirmed = await browser.post(
        "/mfa/enroll",
        data={
            "csrf_token": token.group(1),
            "code": pyotp.TOTP(secret).at(clock.now),
            "next": AUTHORIZE,
        },
    )
    assert confirmed.status_code == 200
    shown = re.findall(r"<code>([2-9A-Z-]{29})</code>", confirmed.text)
    assert len(shown) == 10
    assert f'href="{html.escape(AUTHORIZE)}"' in confirmed.text
    assert await is_signed_in(browser)
    user = await accounts.get(user_id)
    assert user.totp_enrolled_at == clock.now
    async with accounts.sessions() as db:
        stored = list(
            await db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id))
        )
    assert len(stored) == 10
    assert not set(shown) & set(stored)


async def test_wrong_enrolment_code_is_refused(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    user_id = await accounts.add("typo@carrier.example", roles=[Role.SUPPORT])
    await sign_in(browser, "typo@carrier.example")

    response = await post_form(browser, "/mfa/enroll", "/mfa/enroll", code="000000")

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    assert (await accounts.get(user_id)).totp_enrolled_at is None
    assert not await is_signed_in(browser)


async def test_enrolled_user_cannot_enrol_again_here(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    await accounts.add("again@carrier.example", roles=[Role.REP], totp_secret="A" * 32)
    await sign_in(browser, "again@carrier.example")

    response = await browser.get("/mfa/enroll")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin/mfa")


async def test_mfa_pages_need_the_password_step_first(browser: httpx.AsyncClient) -> None:
    for path in ("/signin/mfa", "/mfa/enroll"):
        response = await browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


# --- sessions ---------------------------------------------------------------------------


async def test_session_cookie_is_http_only_lax_and_stored_hashed(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    user_id = await accounts.add("cookie@acme.example")

    response = await sign_in(browser, "cookie@acme.example")

    for name in (SESSION_COOKIE, CSRF_COOKIE):
        header = set_cookie_header(response, name).lower()
        assert "httponly" in header
        assert "samesite=lax" in header
        assert "path=/" in header
        assert "secure" not in header  # development over http
        assert "expires" not in header
    token = browser.cookies[SESSION_COOKIE]
    [row] = await accounts.sign_in_sessions(user_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()


async def test_cookies_are_secure_in_production(accounts: Accounts, clock: Clock) -> None:
    production = accounts.settings.model_copy(update={"env": "production"})
    web = AuthWeb(sessions=accounts.sessions, settings=production, clock=clock)
    await accounts.add("secure@acme.example")

    async with _browser(web, "https://portal.test") as client:
        response = await sign_in(client, "secure@acme.example")

    assert response.status_code == 303
    assert "secure" in set_cookie_header(response, SESSION_COOKIE).lower()
    assert "secure" in set_cookie_header(response, CSRF_COOKIE).lower()


async def test_session_ends_after_30_idle_minutes(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    await accounts.add("idle@acme.example")
    await sign_in(browser, "idle@acme.example")

    clock.advance(minutes=29)
    assert await is_signed_in(browser)  # use refreshes the idle timer
    clock.advance(minutes=29)
    assert await is_signed_in(browser)
    clock.advance(minutes=30)
    assert not await is_signed_in(browser)
    clock.advance(seconds=1)
    assert not await is_signed_in(browser)  # ended for good


async def test_session_ends_12_hours_after_sign_in_however_active(
    browser: httpx.AsyncClient, accounts: Accounts, clock: Clock
) -> None:
    await accounts.add("busy@acme.example")
    await sign_in(browser, "busy@acme.example")

    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert await is_signed_in(browser)
    clock.advance(minutes=20)

    assert not await is_signed_in(browser)


async def test_sign_out_ends_the_session(browser: httpx.AsyncClient, accounts: Accounts) -> None:
    user_id = await accounts.add("bye@acme.example")
    await sign_in(browser, "bye@acme.example")
    token = browser.cookies[SESSION_COOKIE]

    response = await post_form(browser, "/signin/done", "/signout")

    assert response.status_code == 200
    assert "You have signed out" in response.text
    assert SESSION_COOKIE not in browser.cookies
    assert not await is_signed_in(browser)
    browser.cookies.set(SESSION_COOKIE, token, domain="portal.test")  # a copied cookie
    assert not await is_signed_in(browser)
    [row] = await accounts.sign_in_sessions(user_id)
    assert row.ended_at is not None


async def test_signing_in_again_ends_the_earlier_session(
    browser: httpx.AsyncClient, accounts: Accounts
) -> None:
    user_id = await accounts.add("twice@acme.example")
    await sign_in(browser, "twice@acme.example")
    await sign_in(browser, "twice@acme.example")

    rows = await accounts.sign_in_sessions(user_id)
    assert [row.ended_at is None for row in rows] == [False, True]


@pytest.mark.parametrize("action", ["/signin/mfa", "/mfa/enroll", "/signout"])
async def test_every_form_needs_the_csrf_token(
    browser: httpx.AsyncClient, accounts: Accounts, action: str
) -> None:
    await accounts.add("forms@carrier.example", roles=[Role.REP])
    await sign_in(browser, "forms@carrier.example")

    response = await browser.post(action, data={"code": "000000", "next": AUTHORIZE})

    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert len(await accounts.attempts("forms@carrier.example")) == 1  # the password step only
