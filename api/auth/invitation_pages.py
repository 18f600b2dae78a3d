"""The invitation acceptance page (SPEC §2 Web access, §3: server-rendered like sign-in).

    GET  /invitations/accept?token=…   the set-password form, or why the link doesn't work
    POST /invitations/accept           CSRF, the token again, the password (SP 800-63B-4)
                                       -> "your account is ready", with a link to sign in

The token is the only thing that identifies the user: the form carries it back in a hidden
field and has no user field to tamper with. Error pages never show whose invitation a
link was. The link is spent by the service (``web_access_invitations.accept_invitation``),
so it works once. Adding an authenticator app is optional for group users and offered
after sign-in (``/mfa/enroll``); internal users are never invited this way.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth.browser_session import client_ip, user_agent
from api.auth.pages import ENROLL_PATH, MAX_FIELD_LENGTH
from api.auth.passwords import MAX_LENGTH, MIN_LENGTH
from api.auth.web import AuthWeb, csrf_failed, error_page, render, verify_csrf
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.web_access_invitations import (
    ACCEPT_PATH,
    InvitationRefusal,
    accept_invitation,
    open_invitation,
)
from db.models import User

MISMATCH = "The two passwords don't match. Type the same password in both boxes."
ASK_FOR_A_NEW_ONE = (
    "Ask your group's portal administrator or the carrier's group-accounts representative "
    "to send you a new invitation."
)
REFUSALS = {
    InvitationRefusal.UNKNOWN: (
        404,
        "This invitation link doesn't work",
        "The link may be incomplete: copy the whole link from the email. " + ASK_FOR_A_NEW_ONE,
    ),
    InvitationRefusal.EXPIRED: (
        410,
        "This invitation has expired",
        "Invitation links work for a limited time. " + ASK_FOR_A_NEW_ONE,
    ),
    InvitationRefusal.USED: (
        410,
        "This invitation has already been used",
        "Each invitation link works once. If you set your password, sign in. " + ASK_FOR_A_NEW_ONE,
    ),
    InvitationRefusal.WITHDRAWN: (
        410,
        "This invitation is no longer valid",
        "A newer invitation may have replaced it: use the link in the latest email. "
        + ASK_FOR_A_NEW_ONE,
    ),
}


def invitation_routes(web: AuthWeb) -> list[BaseRoute]:
    """The routes to mount at the application root, beside ``signin_routes``."""
    return [
        Route(ACCEPT_PATH, partial(accept_form, web), methods=["GET"]),
        Route(ACCEPT_PATH, partial(accept_submit, web), methods=["POST"]),
    ]


async def accept_form(web: AuthWeb, request: Request) -> Response:
    token = _bounded(request.query_params.get("token"))
    async with web.sessions() as db, db.begin():
        found = await open_invitation(db, token, web.now())
    if isinstance(found, InvitationRefusal):
        return _refused(web, request, found)
    return _form(web, request, token, found.user)


async def accept_submit(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    async with web.sessions() as db, db.begin():
        return await _accept(web, db, request, form)


async def _accept(web: AuthWeb, db: AsyncSession, request: Request, form: FormData) -> Response:
    """The token again (it may have been spent, revoked or expired since the form was
    shown), then the password; the audit event commits with the change."""
    token, password = _text(form, "token"), _text(form, "password")
    found = await open_invitation(db, token, web.now())
    if isinstance(found, InvitationRefusal):
        return _refused(web, request, found)
    if password != _text(form, "password_confirm"):
        return _form(web, request, token, found.user, {"password_confirm": MISMATCH})
    accepted = await accept_invitation(db, token=token, password=password, now=web.now())
    if accepted.refusal is not None:
        return _refused(web, request, accepted.refusal)
    if accepted.problems:
        problems = [problem.message for problem in accepted.problems]
        errors = {"password": " ".join(problems)}
        return _form(web, request, token, found.user, errors, problems)
    await _audit(db, request, found.user)
    user = found.user
    done = "invitation_done.html"
    return render(web, request, done, name=user.name, email=user.email, enroll_path=ENROLL_PATH)


def _form(
    web: AuthWeb,
    request: Request,
    token: str,
    user: User,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> Response:
    """The set-password form; ``problems`` lists every rule the password broke."""
    return render(
        web,
        request,
        "invitation_accept.html",
        400 if errors else 200,
        action=ACCEPT_PATH,
        token=token,
        name=user.name,
        email=user.email,
        errors=errors or {},
        problems=problems or [],
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
    )


def _refused(web: AuthWeb, request: Request, refusal: InvitationRefusal) -> Response:
    status, heading, message = REFUSALS[refusal]
    return error_page(web, request, status, heading, message)


async def _audit(db: AsyncSession, request: Request, user: User) -> None:
    """The acceptance changes the account, so it is audited like a mutation, by the user."""
    request_id = request.scope.get("state", {}).get("request_id")
    origin = RequestOrigin(client_ip(request), user_agent(request), request_id)
    trail = AuditTrail(actor=Actor(user_id=user.id, client_id=None), origin=origin)
    trail.record("invitation.accept", target_type="PortalUser", target_id=str(user.id))
    await trail.flush(db)


def _bounded(value: str | None) -> str:
    return value if value is not None and len(value) <= MAX_FIELD_LENGTH else ""


def _text(form: FormData, name: str) -> str:
    """A text field's value; missing, a file or over-long input counts as empty."""
    value = form.get(name)
    return value if isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH else ""
