"""The "Can't sign in?" form (SPEC §2 Web access; issue 9): a plain HTML page linked from
the sign-in page, for people who cannot sign in and so cannot use the API.

    GET  /access-issues/new   the form: email, name, group number, category, description
    POST /access-issues/new   CSRF first, then the report's rate limits (per client IP
                              and per email, counted and committed before anything else),
                              then the same service as ``accessIssueReport``
                              -> a page with the reference (or the form with what to fix)

A refused attempt gets 429 with ``Retry-After`` and says when to try again. The form
never links the report to a browser session: it is the route of people who are signed out.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth.browser_session import client_ip, user_agent
from api.auth.pages import MAX_FIELD_LENGTH
from api.auth.web import AuthWeb, csrf_failed, error_page, render, verify_csrf
from api.services import access_issues
from api.services.access_issue_limits import admit_report, retry_message
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.rules import RuleViolation
from db.models import AccessIssue, AccessIssueCategory

NEW_PATH = "/access-issues/new"
FIELDS = ("email", "name", "group_number", "category", "description")
CATEGORY_CHOICES = [
    (AccessIssueCategory.CANT_LOG_IN.value, "I can't sign in"),
    (AccessIssueCategory.LOCKED_OUT.value, "My account is locked"),
    (AccessIssueCategory.LOST_MFA.value, "I lost my authenticator app or recovery codes"),
    (AccessIssueCategory.MISSING_PERMISSION.value, "I'm missing a permission"),
    (AccessIssueCategory.OTHER.value, "Something else"),
]
FORM_FIELD_OF = {"groupNumber": "group_number"}


def access_issue_routes(web: AuthWeb) -> list[BaseRoute]:
    """The routes to mount at the application root, beside ``signin_routes``."""
    return [
        Route(NEW_PATH, partial(report_form, web), methods=["GET"]),
        Route(NEW_PATH, partial(report_submit, web), methods=["POST"]),
    ]


async def report_form(web: AuthWeb, request: Request) -> Response:
    return _form(web, request, dict.fromkeys(FIELDS, ""), {})


async def report_submit(web: AuthWeb, request: Request) -> Response:
    form = await request.form()
    if not verify_csrf(web, request, form):
        return csrf_failed(web, request)
    values = {name: _text(form, name) for name in FIELDS}
    async with web.sessions() as db:
        verdict = await admit_report(
            db, web.settings, ip=client_ip(request), email=values["email"], now=web.now()
        )
        await db.commit()  # counted even when refused or invalid
        if not verdict.allowed:
            return _refused(web, request, verdict.retry_after_seconds)
        return await _report(web, db, request, values)


async def _report(
    web: AuthWeb, db: AsyncSession, request: Request, values: dict[str, str]
) -> Response:
    sent = access_issues.Report(
        category=values["category"],
        description=values["description"],
        email=values["email"],
        name=values["name"],
        group_number=values["group_number"] or None,
    )
    try:
        issue = await access_issues.report(
            db,
            sent=sent,
            reporter=None,
            ip=client_ip(request),
            settings=web.settings,
            now=web.now(),
        )
    except RuleViolation as refused:
        await db.rollback()
        errors = {_form_field(p.field): p.message for p in refused.problems}
        return _form(web, request, values, errors)
    await _audit(db, request, issue)
    await db.commit()
    return render(
        web,
        request,
        "access_issue_sent.html",
        reference=issue.reference,
        email=issue.reporter_email,
    )


def _form_field(path: tuple[str, ...] | None) -> str:
    name = path[0] if path else "description"
    return FORM_FIELD_OF.get(name, name)


def _form(
    web: AuthWeb, request: Request, values: dict[str, str], errors: dict[str, str]
) -> Response:
    return render(
        web,
        request,
        "access_issue_new.html",
        400 if errors else 200,
        action=NEW_PATH,
        values=values,
        errors=errors,
        categories=CATEGORY_CHOICES,
    )


def _refused(web: AuthWeb, request: Request, seconds: int) -> Response:
    page = error_page(web, request, 429, "Please wait before trying again", retry_message(seconds))
    page.headers["Retry-After"] = str(seconds)
    return page


async def _audit(db: AsyncSession, request: Request, issue: AccessIssue) -> None:
    """Audited like the mutation, by nobody (the reporter is not signed in)."""
    request_id = request.scope.get("state", {}).get("request_id")
    origin = RequestOrigin(client_ip(request), user_agent(request), request_id)
    trail = AuditTrail(actor=Actor(user_id=None, client_id=None), origin=origin)
    changes = {"reference": issue.reference, "category": issue.category.value, "via": "form"}
    trail.record(
        "accessIssue.report", target_type="AccessIssue", target_id=str(issue.id), changes=changes
    )
    await trail.flush(db)


def _text(form: FormData, name: str) -> str:
    """A text field's value; missing, a file or over-long input counts as empty (the
    description may be up to 4000 characters, so it is bounded a little above that)."""
    value = form.get(name)
    limit = 2 * access_issues.MAX_DESCRIPTION if name == "description" else MAX_FIELD_LENGTH
    return value if isinstance(value, str) and len(value) <= limit else ""
