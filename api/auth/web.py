"""What every server-rendered sign-in page shares: templates, security headers, CSRF, ``next``.

SPEC §3: the sign-in, MFA, consent, invitation and password-reset pages are server-rendered
HTML. Every page is sent with headers that forbid framing, inline scripts and caching
(OWASP Clickjacking Defense and HTTP Headers cheat sheets), and every POST form carries a
CSRF token checked against a cookie: the signed double-submit cookie of the OWASP CSRF
Prevention cheat sheet, signed with HMAC-SHA256 under ``settings.secret_key``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import jinja2
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.auth.totp import SecretBox
from api.services.dates import utc_now
from api.settings import Settings

CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf_token"
CSRF_CONTEXT = b"portal csrf\x00"
STYLESHEET_PATH = "/auth/static/portal.css"
DEFAULT_NEXT = "/signin/done"
NEXT_PATH = "/oauth/authorize"
MAX_NEXT_LENGTH = 4096
ResponseT = TypeVar("ResponseT", bound=Response)
# No `form-action`: browsers apply it to the redirects that follow a form post, and the
# sign-in and consent posts end, by design, in a redirect to the client's registered URI.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def default_templates() -> jinja2.Environment:
    """The page templates, HTML-escaped by default; an undefined name is an error."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("api.auth", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclass(slots=True)
class AuthWeb:
    """What the sign-in pages (and the OAuth consent page) need; built once per app.

    ``clock`` is the single time seam: tests pass a clock they can move forward.
    """

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    templates: jinja2.Environment = field(default_factory=default_templates)
    clock: Callable[[], dt.datetime] = utc_now
    secret_box: SecretBox = field(init=False)

    def __post_init__(self) -> None:
        self.secret_box = SecretBox(self.secret_key)

    @property
    def secret_key(self) -> str:
        return self.settings.secret_key.get_secret_value()

    def now(self) -> dt.datetime:
        return self.clock()


def render(
    web: AuthWeb, request: Request, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """The template as a page with the security headers (and a CSRF cookie when new)."""
    page = web.templates.get_template(template).render(
        request=request,
        csrf_field=csrf_field(web, request),
        stylesheet=STYLESHEET_PATH,
        **context,
    )
    return finish(web, request, HTMLResponse(page, status_code=status))


def redirect(web: AuthWeb, request: Request, url: str) -> RedirectResponse:
    """A 303 See Other (the browser follows with GET), with the same headers as a page."""
    return finish(web, request, RedirectResponse(url, status_code=303))


def error_page(
    web: AuthWeb, request: Request, status: int, heading: str, message: str
) -> HTMLResponse:
    """A plain error page: what went wrong and what to do next."""
    return render(web, request, "error.html", status, heading=heading, message=message)


def csrf_failed(web: AuthWeb, request: Request) -> HTMLResponse:
    """The 400 page for a form whose CSRF token is missing or does not match the cookie."""
    return error_page(
        web,
        request,
        400,
        "This form has expired",
        "The form was sent without a valid security token, perhaps from another site or "
        "after a long pause. Go back, reload the page and try again.",
    )


def finish(web: AuthWeb, request: Request, response: ResponseT) -> ResponseT:
    """Adds the security headers, and sets the CSRF cookie when this request made one."""
    response.headers.update(SECURITY_HEADERS)
    fresh = getattr(request.state, "csrf_fresh", None)
    if fresh is not None:
        set_cookie(web, response, CSRF_COOKIE, fresh)
    return response


def set_cookie(web: AuthWeb, response: Response, name: str, value: str) -> None:
    """A browser-session cookie: HttpOnly, SameSite=Lax, Path=/, Secure outside development
    (OWASP Session Management cheat sheet, "Cookies")."""
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=web.settings.is_production,
    )


def csrf_token(web: AuthWeb, request: Request) -> str:
    """This browser's CSRF token: the cookie's when it is genuine, else a new one that the
    response sets as the cookie (see ``finish``)."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        offered = request.cookies.get(CSRF_COOKIE, "")
        token = offered if _csrf_signed(web, offered) else rotate_csrf(web, request)
        request.state.csrf_token = token
    return str(token)


def rotate_csrf(web: AuthWeb, request: Request) -> str:
    """A new CSRF token for this browser from now on (after sign-in: a token planted before
    sign-in is worthless afterwards)."""
    nonce = secrets.token_urlsafe(32)
    token = f"{nonce}.{_csrf_signature(web, nonce)}"
    request.state.csrf_token = request.state.csrf_fresh = token
    return token


def csrf_field(web: AuthWeb, request: Request) -> Markup:
    """The hidden form field carrying the CSRF token; every POST form includes it."""
    token = csrf_token(web, request)
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def verify_csrf(web: AuthWeb, request: Request, form: Mapping[str, Any]) -> bool:
    """Whether the form's token equals the cookie's and the cookie was signed by us."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not _csrf_signed(web, cookie):
        return False
    return hmac.compare_digest(sent.encode(), cookie.encode())


def _csrf_signed(web: AuthWeb, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    expected = _csrf_signature(web, nonce)
    return bool(nonce) and hmac.compare_digest(signature.encode(), expected.encode())


def _csrf_signature(web: AuthWeb, nonce: str) -> str:
    message = CSRF_CONTEXT + nonce.encode()
    return hmac.new(web.secret_key.encode(), message, hashlib.sha256).hexdigest()


def safe_next(value: object) -> str:
    """Where to go after signing in: ``value`` only when it is a path on this site to the
    OAuth authorization endpoint, else the "you are signed in" page. This is the whole
    open-redirect defence (OWASP Unvalidated Redirects and Forwards cheat sheet)."""
    if not isinstance(value, str) or len(value) > MAX_NEXT_LENGTH or not value.isprintable():
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != NEXT_PATH or "\\" in value:
        return DEFAULT_NEXT
    return urlunsplit(("", "", parts.path, parts.query, ""))


def with_next(path: str, next_url: str) -> str:
    """``path`` with ``next`` as its query, e.g. ``/signin?next=%2Foauth%2Fauthorize%3F...``."""
    return f"{path}?{urlencode({'next': next_url})}"


def signin_url(next_url: str) -> str:
    """The sign-in page that comes back to ``next_url`` (an ``/oauth/authorize?...`` path)."""
    return with_next("/signin", next_url)
