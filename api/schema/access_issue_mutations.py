"""Working the access-issue queue (``support:access``): assign, internal notes, replies
emailed to the reporter, status changes. The rules are
``api.services.access_issue_workflow``; each change commits with its audit event."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import SUPPORT_ACCESS
from api.resolvers.mutations import commit, discard
from api.schema.access_issues import AccessIssue
from api.schema.lookups import pk_of
from api.schema.user_errors import UserError, user_errors
from api.services import access_issue_workflow as workflow
from api.services.dates import utc_now
from api.services.rules import RuleViolation
from db import models
from db.models import AccessIssueStatus

NOT_FOUND = strawberry.enum_value("ISSUE_NOT_FOUND", description="No such access issue.")
BODY = strawberry.enum_value("INVALID_BODY", description="Empty, or over 4000 characters.")

Work = Callable[[models.AccessIssue], Awaitable[models.AccessIssueEntry]]


@strawberry.input(description="Give an issue to a support team member.")
class AccessIssueAssignInput:
    id: relay.GlobalID = strawberry.field(description="The issue's `id`.")
    assignee_email: str | None = strawberry.field(
        default=None, description="The support team member's email; leave out to take it."
    )


@strawberry.input(description="An internal note (support staff only, never emailed).")
class AccessIssueNoteAddInput:
    id: relay.GlobalID = strawberry.field(description="The issue's `id`.")
    body: str = strawberry.field(description="1 to 4000 characters.")


@strawberry.input(description="A reply emailed to the reporter.")
class AccessIssueReplyInput:
    id: relay.GlobalID = strawberry.field(description="The issue's `id`.")
    body: str = strawberry.field(
        description="1 to 4000 characters. Never include passwords, codes or reset links."
    )


@strawberry.input(description="Move an issue along its workflow.")
class AccessIssueStatusSetInput:
    id: relay.GlobalID = strawberry.field(description="The issue's `id`.")
    status: AccessIssueStatus = strawberry.field(description="The new status.")
    reason: str | None = strawberry.field(
        default=None, description="Why (required to re-open a RESOLVED issue)."
    )


@strawberry.enum(description="Why accessIssueAssign refused.")
class AccessIssueAssignErrorCode(enum.Enum):
    ISSUE_NOT_FOUND = NOT_FOUND
    ASSIGNEE_NOT_SUPPORT = strawberry.enum_value(
        "ASSIGNEE_NOT_SUPPORT", description="Not an active support team member."
    )


@strawberry.enum(description="Why accessIssueNoteAdd refused.")
class AccessIssueNoteAddErrorCode(enum.Enum):
    ISSUE_NOT_FOUND = NOT_FOUND
    INVALID_BODY = BODY


@strawberry.enum(description="Why accessIssueReply refused.")
class AccessIssueReplyErrorCode(enum.Enum):
    ISSUE_NOT_FOUND = NOT_FOUND
    INVALID_BODY = BODY


@strawberry.enum(description="Why accessIssueStatusSet refused.")
class AccessIssueStatusSetErrorCode(enum.Enum):
    ISSUE_NOT_FOUND = NOT_FOUND
    INVALID_TRANSITION = strawberry.enum_value(
        "INVALID_TRANSITION", description="Not allowed from the current status."
    )
    REASON_REQUIRED = strawberry.enum_value(
        "REASON_REQUIRED", description="Re-opening needs a reason (under 4000 characters)."
    )


@strawberry.type(description="An accessIssueAssign failure.")
class AccessIssueAssignUserError(UserError):
    code: AccessIssueAssignErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="An accessIssueNoteAdd failure.")
class AccessIssueNoteAddUserError(UserError):
    code: AccessIssueNoteAddErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="An accessIssueReply failure.")
class AccessIssueReplyUserError(UserError):
    code: AccessIssueReplyErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="An accessIssueStatusSet failure.")
class AccessIssueStatusSetUserError(UserError):
    code: AccessIssueStatusSetErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The issue, or why not.")
class AccessIssueAssignPayload:
    access_issue: AccessIssue | None = strawberry.field(description="Null when refused.")
    user_errors: list[AccessIssueAssignUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The issue, or why not.")
class AccessIssueNoteAddPayload:
    access_issue: AccessIssue | None = strawberry.field(description="Null when refused.")
    user_errors: list[AccessIssueNoteAddUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The issue, or why not.")
class AccessIssueReplyPayload:
    access_issue: AccessIssue | None = strawberry.field(description="Null when refused.")
    user_errors: list[AccessIssueReplyUserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The issue, or why not.")
class AccessIssueStatusSetPayload:
    access_issue: AccessIssue | None = strawberry.field(description="Null when refused.")
    user_errors: list[AccessIssueStatusSetUserError] = strawberry.field(
        description="Empty on success."
    )


async def _change(
    info: strawberry.Info, gid: relay.GlobalID, action: str, work: Work, **changes: str
) -> AccessIssue:
    """Lock the issue, do ``work``, commit it with its audit event; or raise
    ``RuleViolation`` (the caller discards)."""
    issue = await workflow.locked_issue(info.context.session, pk_of(gid, "AccessIssue"))
    entry = await work(issue)
    await commit(
        info,
        f"accessIssue.{action}",
        target_type="AccessIssue",
        target_id=str(issue.id),
        changes={"reference": issue.reference, "entry": entry.id, **changes},
    )
    return AccessIssue.from_row(issue)


def _me(info: strawberry.Info) -> int | None:
    user_id: int | None = info.context.principal.user_id
    return user_id


@strawberry.type
class AccessIssueMutations:
    @strawberry.mutation(
        description="Assign an issue to a support team member, or to yourself "
        "(support:access). Recorded in its history.",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def access_issue_assign(
        self,
        info: strawberry.Info,
        input: Annotated[AccessIssueAssignInput, strawberry.argument(description="Who.")],
    ) -> AccessIssueAssignPayload:
        session = info.context.session

        async def work(issue: models.AccessIssue) -> models.AccessIssueEntry:
            if input.assignee_email is None:
                assignee = await workflow.support_user_by_id(session, _me(info))
            else:
                assignee = await workflow.support_user(session, input.assignee_email)
            return await workflow.assign(
                session, issue, assignee=assignee, by_user_id=_me(info), now=utc_now()
            )

        try:
            issue = await _change(info, input.id, "assign", work)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                AccessIssueAssignUserError, AccessIssueAssignErrorCode, refused.problems
            )
            return AccessIssueAssignPayload(access_issue=None, user_errors=errors)
        return AccessIssueAssignPayload(access_issue=issue, user_errors=[])

    @strawberry.mutation(
        description="Add an internal note (support:access); the reporter never sees it.",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def access_issue_note_add(
        self,
        info: strawberry.Info,
        input: Annotated[AccessIssueNoteAddInput, strawberry.argument(description="The note.")],
    ) -> AccessIssueNoteAddPayload:
        async def work(issue: models.AccessIssue) -> models.AccessIssueEntry:
            return await workflow.add_note(
                info.context.session,
                issue,
                body=input.body,
                author_user_id=_me(info),
                now=utc_now(),
            )

        try:
            issue = await _change(info, input.id, "noteAdd", work)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                AccessIssueNoteAddUserError, AccessIssueNoteAddErrorCode, refused.problems
            )
            return AccessIssueNoteAddPayload(access_issue=None, user_errors=errors)
        return AccessIssueNoteAddPayload(access_issue=issue, user_errors=[])

    @strawberry.mutation(
        description="Reply to the reporter by email (support:access). The first reply or "
        "status change is the issue's first response.",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def access_issue_reply(
        self,
        info: strawberry.Info,
        input: Annotated[AccessIssueReplyInput, strawberry.argument(description="The reply.")],
    ) -> AccessIssueReplyPayload:
        async def work(issue: models.AccessIssue) -> models.AccessIssueEntry:
            return await workflow.reply(
                info.context.session,
                issue,
                body=input.body,
                author_user_id=_me(info),
                now=utc_now(),
            )

        try:
            issue = await _change(info, input.id, "reply", work)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                AccessIssueReplyUserError, AccessIssueReplyErrorCode, refused.problems
            )
            return AccessIssueReplyPayload(access_issue=None, user_errors=errors)
        return AccessIssueReplyPayload(access_issue=issue, user_errors=[])

    @strawberry.mutation(
        description="Change an issue's status (support:access): OPEN → IN_PROGRESS ⇄ "
        "WAITING_ON_CLIENT → RESOLVED, IN_PROGRESS → RESOLVED, and RESOLVED → IN_PROGRESS "
        "with a reason (re-open).",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def access_issue_status_set(
        self,
        info: strawberry.Info,
        input: Annotated[AccessIssueStatusSetInput, strawberry.argument(description="The move.")],
    ) -> AccessIssueStatusSetPayload:
        async def work(issue: models.AccessIssue) -> models.AccessIssueEntry:
            return await workflow.set_status(
                info.context.session,
                issue,
                status=input.status,
                reason=input.reason,
                author_user_id=_me(info),
                now=utc_now(),
            )

        try:
            issue = await _change(info, input.id, "statusSet", work, status=input.status.value)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                AccessIssueStatusSetUserError, AccessIssueStatusSetErrorCode, refused.problems
            )
            return AccessIssueStatusSetPayload(access_issue=None, user_errors=errors)
        return AccessIssueStatusSetPayload(access_issue=issue, user_errors=[])
