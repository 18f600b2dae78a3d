"""The sign-in pages: password, second factor, authenticator enrolment, sign-out.

SPEC §2 Web access and §3 (server-rendered sign-in and MFA pages). Every POST checks the
CSRF token first; every page carries ``next`` (see ``api.auth.web.safe_next``) so the
OAuth authorization request resumes after sign-in. The flow (OWASP Authentication and
Session Management cheat sheets, SP 800-63B-4):

    GET/POST /signin       email + password -> a new session (previous one ended), then
    GET/POST /signin/mfa   the TOTP or recovery code, when the user enrolled TOTP, or
    GET/POST /mfa/enroll   TOTP enrolment, when an internal user has none yet; then
    -> next               (``/oauth/authorize?...``) or ``/signin/done``
    POST /signout          ends the session
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth.browser_session import (
    SESSION_COOKIE,
    client_ip,
    end_session,
    mark_mfa_passed,
    mfa_required,
    pending_sign_in,
    signed_in_user,
    start_session,
    user_agent,
)
from api.auth.signin import (
    GENERIC_FAILURE,
    MFA_FAILURE,
    Attempt,
    check_password,
    check_second_factor,
    confirm_enrollment,
    pending_totp_secret,
)
from api.auth.totp import provisioning_uri, qr_code_svg
from api.auth.web import (
    DEFAULT_NEXT,
    STYLESHEET_PATH,
    AuthWeb,
    csrf_failed,
    redirect,
    render,
    rotate_csrf,
    safe_next,
    set_cookie,
    signin_url,
    verify_csrf,
    with_next,
)
from db.models import User

MFA_PATH = "/signin/mfa"
ENROLL_PATH = "/mfa/enroll"
MAX_FIELD_LENGTH = 1024
STYLESHEET = Path(__file__).parent / "static" / "portal.css"
ENROLL_FAILURE = "That code didn't match. Enter the 6-digit code your app shows now."


def signin_routes(web: AuthWeb) -> list[BaseRoute]:
    """The routes to mount at the application root."""
    css = STYLESHEET.read_text(encoding="utf-8")
    return [
        Route("/signin", partial(signin_form, web), methods=["GET"]),
        Route("/signin", partial(signin_submit, web), methods=["POST"]),
        Route(MFA_PATH, partial(mfa_form, web), methods=["GET"]),
        Route(MFA_PATH, partial(mfa_submit, web), methods=["POST"]),
        Route(ENROLL_PATH, partial(enroll_form, web), methods=["GET"]),
        Route(ENROLL_PATH, partial(enroll_submit, web), methods=["POST"]),
        Route("/signout", partial(signout, web), methods=["POST"]),
        Route(DEFAULT_NEXT, partial(signed_in_page, web), methods=["GET"]),
        Route(STYLESHEET_PATH, partial(stylesheet, css), methods=["GET"]),
    ]


# --- password ---------------------------------------------------------------------------


async def signin_form(web: AuthWeb, request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    return render(web, request, "signin.html", next=next_url, email="", errors={})


async def signin_submit(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    next_url, email = safe_next(form.get("next")), _text(form, "email")
    async with web.sessions() as db, db.begin():
        result = await check_password(
            db,
            email=email,
            password=_text(form, "password"),
            ip=client_ip(request),
            user_agent=user_agent(request),
            now=web.now(),
            settings=web.settings,
        )
        if result.user is None:
            errors = {"email": GENERIC_FAILURE}
            return render(
                web, request, "signin.html", 400, next=next_url, email=email, errors=errors
            )
        token = await _new_session(web, db, request, result.user)
        target = await _after_password(db, result.user, next_url)
    return _with_session(web, redirect(web, request, target), token)


async def _new_session(web: AuthWeb, db: AsyncSession, request: Request, user: User) -> str:
    """Ends this browser's earlier session and starts one with a fresh CSRF token too."""
    await end_session(db, request, web.now())
    csrf = rotate_csrf(web, request)
    _row, token = await start_session(
        db, user, request, now=web.now(), settings=web.settings, csrf_token=csrf
    )
    return token


async def _after_password(db: AsyncSession, user: User, next_url: str) -> str:
    if user.totp_enrolled_at is not None:
        return with_next(MFA_PATH, next_url)
    if await mfa_required(db, user):
        return with_next(ENROLL_PATH, next_url)
    return next_url


# --- second factor ----------------------------------------------------------------------


async def mfa_form(web: AuthWeb, request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    async with web.sessions() as db, db.begin():
        pending = await pending_sign_in(db, request, web.settings, web.now())
    if pending is None:
        return redirect(web, request, signin_url(next_url))
    if pending[1].totp_enrolled_at is None:
        return redirect(web, request, with_next(ENROLL_PATH, next_url))
    return render(web, request, "mfa.html", next=next_url, errors={})


async def mfa_submit(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    next_url, now = safe_next(form.get("next")), web.now()
    async with web.sessions() as db, db.begin():
        pending = await pending_sign_in(db, request, web.settings, now)
        if pending is None:
            return redirect(web, request, signin_url(next_url))
        sign_in_session, user = pending
        if user.totp_enrolled_at is None:
            return redirect(web, request, with_next(ENROLL_PATH, next_url))
        if not await _second_factor(web, db, request, user, _text(form, "code")):
            errors = {"code": MFA_FAILURE}
            return render(web, request, "mfa.html", 400, next=next_url, errors=errors)
        token = await mark_mfa_passed(db, sign_in_session, now)
    return _with_session(web, redirect(web, request, next_url), token)


async def _second_factor(
    web: AuthWeb, db: AsyncSession, request: Request, user: User, code: str
) -> bool:
    attempt = Attempt(client_ip(request), user_agent(request), web.now())
    return await check_second_factor(
        db, user, code, attempt=attempt, secret_box=web.secret_box, settings=web.settings
    )


# --- enrolment --------------------------------------------------------------------------


async def enroll_form(web: AuthWeb, request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    async with web.sessions() as db, db.begin():
        pending = await pending_sign_in(db, request, web.settings, web.now())
        if pending is None:
            return redirect(web, request, signin_url(next_url))
        user = pending[1]
        if user.totp_enrolled_at is not None:
            return redirect(web, request, with_next(MFA_PATH, next_url))
        return _enroll_page(web, request, user, next_url, {})


async def enroll_submit(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    next_url, now = safe_next(form.get("next")), web.now()
    async with web.sessions() as db, db.begin():
        pending = await pending_sign_in(db, request, web.settings, now)
        if pending is None:
            return redirect(web, request, signin_url(next_url))
        sign_in_session, user = pending
        if user.totp_enrolled_at is not None:
            return redirect(web, request, with_next(MFA_PATH, next_url))
        codes = await confirm_enrollment(
            db, user, _text(form, "code"), now=now, secret_box=web.secret_box, settings=web.settings
        )
        if codes is None:
            return _enroll_page(web, request, user, next_url, {"code": ENROLL_FAILURE}, 400)
        token = await mark_mfa_passed(db, sign_in_session, now)
    page = render(web, request, "recovery_codes.html", codes=codes, next=next_url)
    return _with_session(web, page, token)


def _enroll_page(
    web: AuthWeb,
    request: Request,
    user: User,
    next_url: str,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    """The enrolment page for the user's pending secret (made and stored on first view)."""
    secret = pending_totp_secret(user, web.secret_box)
    qr_svg = Markup(qr_code_svg(provisioning_uri(secret, email=user.email)))
    secret_display = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(
        web,
        request,
        "enroll.html",
        status,
        next=next_url,
        errors=errors,
        qr_svg=qr_svg,
        secret_display=secret_display,
    )


# --- signed in, signing out -------------------------------------------------------------


async def signed_in_page(web: AuthWeb, request: Request) -> Response:
    async with web.sessions() as db, db.begin():
        user = await signed_in_user(db, request, web.settings, web.now())
    if user is None:
        return redirect(web, request, "/signin")
    return render(web, request, "done.html", user=user)


async def signout(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    async with web.sessions() as db, db.begin():
        await end_session(db, request, web.now())
    response = render(
        web,
        request,
        "message.html",
        heading="You have signed out",
        message="Your session has ended on this device.",
        link_href="/signin",
        link_text="Sign in again",
    )
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=web.settings.is_production, httponly=True, samesite="lax"
    )
    return response


async def stylesheet(css: str, _request: Request) -> Response:
    """The pages' own stylesheet (CSP ``style-src 'self'``: nothing inline, nothing external)."""
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(css, media_type="text/css", headers=headers)


def _with_session(web: AuthWeb, response: Response, token: str) -> Response:
    set_cookie(web, response, SESSION_COOKIE, token)
    return response


def _text(form: FormData, name: str) -> str:
    """A text field's value; missing, a file or over-long input counts as empty (never
    truncated: a cut-down password must not be checked as if typed)."""
    value = form.get(name)
    return value if isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH else ""
