"""``accessIssueReport``: the one operation that works without a token (SPEC §2 Web access:
a locked-out user cannot sign in; ``api.auth.anonymous_report`` lets it through).

The payload carries the new issue's reference and nothing else, so a caller never learns
anything about other issues. Each attempt counts against the caller's IP and email
before anything is checked (``api.services.access_issue_limits``); a refused attempt
gets ``RATE_LIMITED`` with the seconds to wait, also as the HTTP ``Retry-After`` header.
"""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from api.auth.browser_session import client_ip
from api.auth.permissions import requires
from api.auth.policy import ACCESS_REPORT
from api.resolvers.mutations import commit, discard
from api.schema.user_errors import UserError
from api.services import access_issues
from api.services.access_issue_limits import admit_report, retry_message
from api.services.dates import utc_now
from api.services.rules import Problem, RuleViolation
from db.models import AccessIssueCategory, User


@strawberry.input(
    description="An access problem. Signed in, the account's email and name are "
    "used and `email` and `name` may be left out."
)
class AccessIssueReportInput:
    category: AccessIssueCategory = strawberry.field(description="What it is about.")
    description: str = strawberry.field(
        description="What you tried and what happened, 10 to 4000 characters. Never include "
        "your password."
    )
    email: str | None = strawberry.field(
        default=None, description="The email you sign in with (required when not signed in)."
    )
    name: str | None = strawberry.field(
        default=None, description="Your name, up to 200 characters (required when not signed in)."
    )
    group_number: str | None = strawberry.field(
        default=None, description="Your employer group's number, e.g. `G100234`, if known."
    )


@strawberry.enum(description="Why accessIssueReport refused.")
class AccessIssueReportErrorCode(enum.Enum):
    RATE_LIMITED = strawberry.enum_value(
        "RATE_LIMITED", description="Too many reports; retry after `retryAfterSeconds`."
    )
    INVALID_CATEGORY = strawberry.enum_value("INVALID_CATEGORY", description="No category.")
    INVALID_DESCRIPTION = strawberry.enum_value(
        "INVALID_DESCRIPTION", description="Not 10 to 4000 characters."
    )
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="Not one email address.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="No name, or too long.")
    INVALID_GROUP_NUMBER = strawberry.enum_value(
        "INVALID_GROUP_NUMBER", description="Not a group number."
    )


@strawberry.type(description="An accessIssueReport failure.")
class AccessIssueReportUserError(UserError):
    code: AccessIssueReportErrorCode = strawberry.field(description="Machine-readable reason.")
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="With RATE_LIMITED: seconds to wait before trying again."
    )


@strawberry.type(description="The new issue's reference, or why not.")
class AccessIssueReportPayload:
    reference: str | None = strawberry.field(
        description="Quote it when contacting support, e.g. `AI-7K3Q9X` (null when refused)."
    )
    user_errors: list[AccessIssueReportUserError] = strawberry.field(
        description="Empty on success."
    )


def _errors(problems: list[Problem]) -> list[AccessIssueReportUserError]:
    return [
        AccessIssueReportUserError(
            field=list(p.field) if p.field else None,
            message=p.message,
            code=AccessIssueReportErrorCode[p.code],
        )
        for p in problems
    ]


def _rate_limited(info: strawberry.Info, seconds: int) -> AccessIssueReportPayload:
    info.context.response.headers["Retry-After"] = str(seconds)
    error = AccessIssueReportUserError(
        field=None,
        message=retry_message(seconds),
        code=AccessIssueReportErrorCode.RATE_LIMITED,
        retry_after_seconds=seconds,
    )
    return AccessIssueReportPayload(reference=None, user_errors=[error])


async def _reporter(info: strawberry.Info) -> User | None:
    """The signed-in user making the report; None for anonymous callers and systems."""
    user_id = info.context.principal.user_id
    return None if user_id is None else await info.context.session.get(User, user_id)


def _report(input: AccessIssueReportInput) -> access_issues.Report:
    return access_issues.Report(
        category=input.category.value,
        description=input.description,
        email=input.email or "",
        name=input.name or "",
        group_number=input.group_number,
    )


@strawberry.type
class AccessIssueReportMutations:
    @strawberry.mutation(
        description="Report an access problem (can't sign in, locked out, lost the "
        "authenticator app, missing permission). Works without a token; signed in it needs "
        "`access:report` and links the issue to the account. Rate-limited per IP (5 per 15 "
        "minutes) and per email (3 per hour) by default. A confirmation email with the "
        "reference follows; support replies by email.",
        extensions=requires(ACCESS_REPORT),
    )
    async def access_issue_report(
        self,
        info: strawberry.Info,
        input: Annotated[AccessIssueReportInput, strawberry.argument(description="The problem.")],
    ) -> AccessIssueReportPayload:
        ctx, now = info.context, utc_now()
        reporter, ip = await _reporter(info), client_ip(ctx.request)
        email = reporter.email if reporter else input.email or ""
        verdict = await admit_report(ctx.session, ctx.settings, ip=ip, email=email, now=now)
        await ctx.session.commit()  # counted even when refused or invalid
        if not verdict.allowed:
            return _rate_limited(info, verdict.retry_after_seconds)
        try:
            issue = await access_issues.report(
                ctx.session,
                sent=_report(input),
                reporter=reporter,
                ip=ip,
                settings=ctx.settings,
                now=now,
            )
        except RuleViolation as refused:
            await discard(info)
            return AccessIssueReportPayload(reference=None, user_errors=_errors(refused.problems))
        changes = {"reference": issue.reference, "category": issue.category.value}
        await commit(
            info,
            "accessIssue.report",
            target_type="AccessIssue",
            target_id=str(issue.id),
            changes=changes,
        )
        return AccessIssueReportPayload(reference=issue.reference, user_errors=[])
