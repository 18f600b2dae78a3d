"""The password-reset pages (SPEC §2 Web access, §3: server-rendered like sign-in; issue 9).

    GET/POST /password-reset/request   an email address -> "if an account exists, we sent a
                                       link" (the same page for any address), rate-limited
    GET  /password-reset?token=…       the new-password form, or why the link doesn't work
    POST /password-reset               CSRF, the token again, the password twice
                                       -> "your password was changed", with a link to sign in

As on the invitation page, the token is the only thing that identifies the user: the form
carries it back in a hidden field and has no user field to tamper with, and no page says
whose link it was. Every page has ``Referrer-Policy: no-referrer`` and ``Cache-Control:
no-store`` (``api.auth.web.SECURITY_HEADERS``), so the token in the address goes nowhere.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth.browser_session import SESSION_COOKIE, client_ip, user_agent
from api.auth.pages import MAX_FIELD_LENGTH
from api.auth.passwords import MAX_LENGTH, MIN_LENGTH
from api.auth.web import AuthWeb, csrf_failed, render, verify_csrf
from api.services.audit import RequestOrigin
from api.services.password_resets import (
    MAX_EMAIL_LENGTH,
    RESET_PATH,
    OpenReset,
    ResetRefusal,
    complete_reset,
    open_reset,
    request_reset,
)

REQUEST_PATH = "/password-reset/request"
MISMATCH = "The two passwords don't match. Type the same password in both boxes."
NO_EMAIL = "Enter the email address you sign in with, like name@example.com."
ASK_AGAIN = "You can ask for a new link from the sign-in page."
REFUSALS = {
    ResetRefusal.UNKNOWN: (
        404,
        "This password-reset link doesn't work",
        "The link may be incomplete: copy the whole link from the email. " + ASK_AGAIN,
    ),
    ResetRefusal.EXPIRED: (
        410,
        "This password-reset link has expired",
        "Password-reset links work for a limited time. " + ASK_AGAIN,
    ),
    ResetRefusal.USED: (
        410,
        "This password-reset link has already been used",
        "Each link works once. If you changed your password, sign in with it. " + ASK_AGAIN,
    ),
    ResetRefusal.WITHDRAWN: (
        410,
        "This password-reset link is no longer valid",
        "A newer link may have replaced it: use the link in the latest email. " + ASK_AGAIN,
    ),
}


def password_reset_routes(web: AuthWeb) -> list[BaseRoute]:
    """The routes to mount at the application root, beside ``signin_routes``."""
    return [
        Route(REQUEST_PATH, partial(request_form, web), methods=["GET"]),
        Route(REQUEST_PATH, partial(request_submit, web), methods=["POST"]),
        Route(RESET_PATH, partial(reset_form, web), methods=["GET"]),
        Route(RESET_PATH, partial(reset_submit, web), methods=["POST"]),
    ]


# --- asking for a link ------------------------------------------------------------------


async def request_form(web: AuthWeb, request: Request) -> Response:
    return _request_page(web, request)


async def request_submit(web: AuthWeb, request: Request) -> Response:
    """Counted and answered the same way for every well-formed address."""
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    email = _text(form, "email").strip()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        return _request_page(web, request, email, {"email": NO_EMAIL})
    async with web.sessions() as db:
        verdict = await request_reset(
            db, email=email, ip=client_ip(request), settings=web.settings, now=web.now()
        )
        await db.commit()
    if not verdict.allowed:
        return _too_many(web, request, verdict.retry_after_seconds)
    return render(web, request, "password_reset_request.html", sent=True, email="", errors={})


def _request_page(
    web: AuthWeb, request: Request, email: str = "", errors: dict[str, str] | None = None
) -> Response:
    status = 400 if errors else 200
    page = "password_reset_request.html"
    return render(web, request, page, status, sent=False, email=email, errors=errors or {})


def _too_many(web: AuthWeb, request: Request, retry_after: int) -> Response:
    """429 with ``Retry-After`` (RFC 9110 §10.2.3) and the wait in words."""
    minutes = max(1, -(-retry_after // 60))
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    message = f"Too many password-reset requests were sent. Try again in {wait}."
    response = _message(web, request, 429, "Please wait before trying again", message)
    response.headers["Retry-After"] = str(retry_after)
    return response


# --- setting the new password -----------------------------------------------------------


async def reset_form(web: AuthWeb, request: Request) -> Response:
    token = _bounded(request.query_params.get("token"))
    async with web.sessions() as db, db.begin():
        found = await open_reset(db, token, web.now())
    if isinstance(found, ResetRefusal):
        return _refused(web, request, found)
    return _form(web, request, token, found)


async def reset_submit(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    async with web.sessions() as db, db.begin():
        return await _reset(web, db, request, form)


async def _reset(web: AuthWeb, db: AsyncSession, request: Request, form: FormData) -> Response:
    """The token again (it may have been spent, withdrawn or expired since the form was
    shown), then the password; the change, its audit event and its email commit together."""
    token, password = _text(form, "token"), _text(form, "password")
    found = await open_reset(db, token, web.now())
    if isinstance(found, ResetRefusal):
        return _refused(web, request, found)
    if password != _text(form, "password_confirm"):
        return _form(web, request, token, found, {"password_confirm": MISMATCH})
    outcome = await complete_reset(
        db, token=token, password=password, now=web.now(), origin=_origin(request)
    )
    if outcome.refusal is not None:
        return _refused(web, request, outcome.refusal)
    if outcome.problems:
        problems = [problem.message for problem in outcome.problems]
        return _form(web, request, token, found, {"password": " ".join(problems)}, problems)
    done = render(web, request, "password_reset_done.html", email=found.user.email)
    done.delete_cookie(SESSION_COOKIE, path="/")  # its session has just been ended anyway
    return done


def _form(
    web: AuthWeb,
    request: Request,
    token: str,
    found: OpenReset,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> Response:
    """The new-password form; ``problems`` lists every rule the password broke."""
    return render(
        web,
        request,
        "password_reset.html",
        400 if errors else 200,
        action=RESET_PATH,
        token=token,
        email=found.user.email,
        errors=errors or {},
        problems=problems or [],
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
    )


def _refused(web: AuthWeb, request: Request, refusal: ResetRefusal) -> Response:
    status, heading, message = REFUSALS[refusal]
    return _message(web, request, status, heading, message)


def _message(web: AuthWeb, request: Request, status: int, heading: str, message: str) -> Response:
    """A page that explains and offers the way on: asking for a new link."""
    link = {"link_href": REQUEST_PATH, "link_text": "Ask for a new password-reset link"}
    return render(web, request, "message.html", status, heading=heading, message=message, **link)


def _origin(request: Request) -> RequestOrigin:
    request_id = request.scope.get("state", {}).get("request_id")
    return RequestOrigin(client_ip(request), user_agent(request), request_id)


def _bounded(value: str | None) -> str:
    return value if value is not None and len(value) <= MAX_FIELD_LENGTH else ""


def _text(form: FormData, name: str) -> str:
    """A text field's value; missing, a file or over-long input counts as empty."""
    value = form.get(name)
    return value if isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH else ""
