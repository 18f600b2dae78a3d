"""A rep's decision on a full file held for its size, and the list of those waiting
(rep:eligibility). The rules are ``api.services.eligibility_files.review``."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_ELIGIBILITY
from api.resolvers.mutations import commit, discard
from api.schema.connections import build_connection
from api.schema.eligibility_files import EligibilityFile, EligibilityFileConnection
from api.schema.lookups import pk_of
from api.schema.user_errors import UserError, user_errors
from api.services.dates import utc_now
from api.services.eligibility_files import review
from api.services.rules import Problem, RuleViolation
from db.queries import eligibility_files as queries
from db.queries.paging import PageRequest


@strawberry.input(description="Decide a full file that waits for a rep.")
class EligibilityFileDecisionInput:
    id: relay.GlobalID = strawberry.field(description="The file's `id`.")
    reason: str = strawberry.field(
        description="Why (kept in the audit log; on rejection, shown to the group as the "
        "file's `error`)."
    )


@strawberry.enum(description="Why a decision on a file was refused.")
class EligibilityFileDecisionErrorCode(enum.Enum):
    NOT_AWAITING_APPROVAL = strawberry.enum_value(
        "NOT_AWAITING_APPROVAL", description="The file is not waiting for a rep."
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Give a reason.")


@strawberry.type(description="A decision failure.")
class EligibilityFileDecisionUserError(UserError):
    code: EligibilityFileDecisionErrorCode = strawberry.field(description="Machine reason.")


@strawberry.type(description="The decided file, or why not.")
class EligibilityFileDecisionPayload:
    file: EligibilityFile | None = strawberry.field(description="The file (null if refused).")
    user_errors: list[EligibilityFileDecisionUserError] = strawberry.field(
        description="Empty on success."
    )


async def _decide(
    info: strawberry.Info, input: EligibilityFileDecisionInput, *, approve: bool
) -> EligibilityFileDecisionPayload:
    ctx, now, reason = info.context, utc_now(), input.reason.strip()
    try:
        if not reason:
            raise RuleViolation([Problem("REASON_REQUIRED", "Say why, in a few words.")])
        file = await review.held_file(ctx.session, pk_of(input.id, "EligibilityFile"))
    except RuleViolation as refused:
        await discard(info)
        codes = EligibilityFileDecisionErrorCode
        errors = user_errors(EligibilityFileDecisionUserError, codes, refused.problems)
        return EligibilityFileDecisionPayload(file=None, user_errors=errors)
    reviewer = ctx.principal.user_id
    if approve:
        review.approve(file, reviewer=reviewer, now=now)
    else:
        review.reject(file, reviewer=reviewer, message=reason, now=now)
    action = "eligibilityFile.approve" if approve else "eligibilityFile.reject"
    changes = {"reason": reason, "missing": file.missing_count}
    await commit(info, action, target_type="EligibilityFile", target_id=str(file.id),
                 changes=changes)  # fmt: skip
    return EligibilityFileDecisionPayload(file=EligibilityFile.from_row(file), user_errors=[])


@strawberry.type
class EligibilityFileReviewMutations:
    @strawberry.mutation(
        description="Apply a full file that waits because it would terminate more than the "
        "group's safety share of its roster (rep:eligibility). It is compared with the "
        "roster again and applied, terminations included.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def eligibility_file_approve(
        self,
        info: strawberry.Info,
        input: Annotated[EligibilityFileDecisionInput, strawberry.argument(description="Id.")],
    ) -> EligibilityFileDecisionPayload:
        return await _decide(info, input, approve=True)

    @strawberry.mutation(
        description="Refuse a full file that waits for a rep (rep:eligibility): nothing in "
        "it is applied, and the reason becomes the file's `error`.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def eligibility_file_reject(
        self,
        info: strawberry.Info,
        input: Annotated[EligibilityFileDecisionInput, strawberry.argument(description="Id.")],
    ) -> EligibilityFileDecisionPayload:
        return await _decide(info, input, approve=False)


async def resolve_awaiting_approval(
    info: strawberry.Info, first: int, after: str | None
) -> EligibilityFileConnection:
    session, principal = info.context.session, info.context.principal
    page = await queries.awaiting_approval_page(session, principal, PageRequest(first, after))

    async def count() -> int:
        return await queries.awaiting_approval_count(session, principal)

    return build_connection(EligibilityFileConnection, page, EligibilityFile.from_row, count)
