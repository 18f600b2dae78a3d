"""The representatives' review queue of eligibility changes (rep:eligibility)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_ELIGIBILITY
from api.resolvers.mutations import commit, discard
from api.schema.connections import CountedConnection, build_connection
from api.schema.eligibility_changes import EligibilityChange
from api.schema.user_errors import UserError, user_errors
from api.services.dates import utc_now
from api.services.eligibility import review
from api.services.eligibility.rules import Limits
from api.services.rules import Problem, RuleViolation
from db.queries.changes import review_queue, review_queue_count
from db.queries.paging import PageRequest


@strawberry.type(description="A page of eligibility changes.")
class EligibilityChangeConnection(CountedConnection[EligibilityChange]):
    pass


@strawberry.input(description="Approve a change waiting for review.")
class EligibilityChangeApproveInput:
    id: relay.GlobalID = strawberry.field(description="The change's `id`.")
    reason: str = strawberry.field(description="Why it may be applied (kept in the audit log).")


@strawberry.input(description="Reject a change waiting for review.")
class EligibilityChangeRejectInput:
    id: relay.GlobalID = strawberry.field(description="The change's `id`.")
    message: str = strawberry.field(description="What the benefit leader should know or do.")


@strawberry.enum(description="Why a review decision was refused.")
class EligibilityChangeReviewErrorCode(enum.Enum):
    NOT_PENDING = strawberry.enum_value("NOT_PENDING", description="Not waiting for review.")
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Give a reason.")
    RULES_FAILED = strawberry.enum_value(
        "RULES_FAILED", description="Another rule fails now; the change stays pending."
    )


@strawberry.type(description="A review decision failure.")
class EligibilityChangeReviewUserError(UserError):
    code: EligibilityChangeReviewErrorCode = strawberry.field(description="Machine reason.")


@strawberry.type(description="The decided change, or why not.")
class EligibilityChangeReviewPayload:
    change: EligibilityChange | None = strawberry.field(description="The change (null if refused).")
    user_errors: list[EligibilityChangeReviewUserError] = strawberry.field(
        description="Empty on success."
    )


def _pk(gid: relay.GlobalID) -> int:
    node = gid.node_id
    return int(node) if gid.type_name == "EligibilityChange" and node.isdigit() else -1


_OWN_CODES = frozenset(code.name for code in EligibilityChangeReviewErrorCode)


def _refused(violation: RuleViolation) -> EligibilityChangeReviewPayload:
    """The change's own rule failures are reported as RULES_FAILED, their code kept in the
    message so the rep sees which rule."""
    problems = [
        p if p.code in _OWN_CODES else Problem("RULES_FAILED", f"{p.code}: {p.message}", p.field)
        for p in violation.problems
    ]
    errors = user_errors(
        EligibilityChangeReviewUserError, EligibilityChangeReviewErrorCode, problems
    )
    return EligibilityChangeReviewPayload(change=None, user_errors=errors)


async def _decide(
    info: strawberry.Info, gid: relay.GlobalID, note: str, approve: bool
) -> EligibilityChangeReviewPayload:
    ctx, now = info.context, utc_now()
    try:
        if not note.strip():
            raise RuleViolation([Problem("REASON_REQUIRED", "Say why, in a few words.")])
        item = await review.pending_item(ctx.session, _pk(gid))
        reviewer = ctx.principal.user_id
        if approve:
            limits = Limits.from_settings(ctx.settings)
            await review.approve(
                ctx.session, item, reviewer=reviewer, note=note, now=now, limits=limits
            )
        else:
            await review.reject(ctx.session, item, reviewer=reviewer, message=note, now=now)
    except RuleViolation as refused:
        await discard(info)
        return _refused(refused)
    action = "eligibility.changeApprove" if approve else "eligibility.changeReject"
    await commit(
        info, action, target_type="ChangeItem", target_id=str(item.id), changes={"reason": note}
    )
    return EligibilityChangeReviewPayload(change=EligibilityChange.from_row(item), user_errors=[])


@strawberry.type
class EligibilityReviewMutations:
    @strawberry.mutation(
        description="Apply a change waiting for review now (rep:eligibility); every rule but "
        "the one it was held for runs again.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def eligibility_change_approve(
        self,
        info: strawberry.Info,
        input: Annotated[EligibilityChangeApproveInput, strawberry.argument(description="Id.")],
    ) -> EligibilityChangeReviewPayload:
        return await _decide(info, input.id, input.reason, approve=True)

    @strawberry.mutation(
        description="Reject a change waiting for review (rep:eligibility), with a message "
        "the benefit leader sees.",
        extensions=requires(REP_ELIGIBILITY),
    )
    async def eligibility_change_reject(
        self,
        info: strawberry.Info,
        input: Annotated[EligibilityChangeRejectInput, strawberry.argument(description="Id.")],
    ) -> EligibilityChangeReviewPayload:
        return await _decide(info, input.id, input.message, approve=False)


async def resolve_review_queue(
    info: strawberry.Info, first: int, after: str | None, group_number: str | None
) -> EligibilityChangeConnection:
    page = await review_queue(
        info.context.session, info.context.principal, PageRequest(first, after), group_number
    )

    async def count() -> int:
        return await review_queue_count(info.context.session, info.context.principal, group_number)

    return build_connection(EligibilityChangeConnection, page, EligibilityChange.from_row, count)
