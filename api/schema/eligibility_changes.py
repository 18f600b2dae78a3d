"""Eligibility change requests over GraphQL: the item type and the submit mutation
(SPEC §2 Eligibility changes)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Self

import strawberry
from graphql import GraphQLError
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import ELIGIBILITY_WRITE
from api.resolvers.mutations import commit, discard
from api.schema.eligibility_inputs import ChangeKind, ChangeStatus, EligibilityChangesInput
from api.schema.lookups import visible_group
from api.schema.members import Member
from api.schema.user_errors import UserError, user_errors
from api.services.dates import utc_now
from api.services.eligibility.changes import problems_from_json
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import FILE_KEY_PREFIX, BatchResult, Submitter, submit
from api.services.eligibility.rules import Limits
from api.services.rules import Problem, RuleViolation
from db import models
from db.models import AccessLevel, AuditOutcome
from db.queries.changes import changes_by_ids


@strawberry.type(description="Why a change was rejected or needs review.")
class EligibilityChangeProblem:
    code: str = strawberry.field(
        description="Machine-readable reason, e.g. RETRO_LIMIT_EXCEEDED, DUPLICATE_SUSPECTED "
        "(both sent to review), CHILD_OVER_AGE_LIMIT, SECOND_PARTNER, QLE_WINDOW_EXPIRED."
    )
    field: list[str] | None = strawberry.field(description="Path into the change's input.")
    message: str = strawberry.field(description="What is wrong and what to do.")


@strawberry.type(description="One change of a submission and what became of it.")
class EligibilityChange(relay.Node):
    pk: relay.NodeID[int]
    member_pk: strawberry.Private[int | None]
    position: int = strawberry.field(description="0-based position in its submission.")
    kind: ChangeKind = strawberry.field(description="What the change does.")
    status: ChangeStatus = strawberry.field(description="APPLIED, PENDING_REVIEW or REJECTED.")
    effective_date: dt.date | None = strawberry.field(description="The change's date.")
    reason: str | None = strawberry.field(description="The reason given.")
    problems: list[EligibilityChangeProblem] = strawberry.field(
        description="Why it was rejected or needs review; empty when applied."
    )
    review_note: str | None = strawberry.field(
        description="The representative's reason for approving, or message for rejecting."
    )
    submitted_at: dt.datetime = strawberry.field(description="When it was submitted (UTC).")

    @classmethod
    def from_row(cls, row: models.ChangeItem) -> Self:
        return cls(
            pk=row.id,
            member_pk=row.member_id,
            position=row.position,
            kind=row.kind,
            status=row.status,
            effective_date=row.effective_date,
            reason=row.reason,
            problems=[
                EligibilityChangeProblem(
                    code=p.code, field=list(p.field) if p.field else None, message=p.message
                )
                for p in problems_from_json(row.problems)
            ],
            review_note=row.review_note,
            submitted_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        ids = [int(n) for n in node_ids if n.isdigit() and len(n) < 19]
        rows = await changes_by_ids(info.context.session, info.context.principal, ids)
        found = {str(row.id): cls.from_row(row) for row in rows}
        return [found.get(node_id) for node_id in node_ids]

    @strawberry.field(description="The member the change created or changed, when known.")
    async def member(self, info: strawberry.Info) -> Member | None:
        if self.member_pk is None:
            return None
        row = await info.context.loaders.member.load(self.member_pk)
        return None if row is None else Member.from_row(row)


@strawberry.enum(description="Why eligibilityChangesSubmit refused the whole submission.")
class EligibilityChangesSubmitErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The key was used for different changes."
    )
    TOO_MANY_CHANGES = strawberry.enum_value(
        "TOO_MANY_CHANGES", description="Fewer than 1 or more than 100 changes."
    )
    INVALID_IDEMPOTENCY_KEY = strawberry.enum_value(
        "INVALID_IDEMPOTENCY_KEY", description="The key is blank or over 100 characters."
    )


@strawberry.type(description="An eligibilityChangesSubmit failure.")
class EligibilityChangesSubmitUserError(UserError):
    code: EligibilityChangesSubmitErrorCode = strawberry.field(description="Machine reason.")


@strawberry.type(description="Each change's outcome, or why the submission was refused.")
class EligibilityChangesSubmitPayload:
    changes: list[EligibilityChange] = strawberry.field(
        description="One per change, in input order (empty when refused)."
    )
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier submission with the "
        "same idempotency key (nothing was changed again)."
    )
    user_errors: list[EligibilityChangesSubmitUserError] = strawberry.field(
        description="Empty unless the whole submission was refused."
    )


def item_context(info: strawberry.Info, group: models.Group) -> ItemContext:
    now = utc_now()
    limits = Limits.from_settings(info.context.settings)
    return ItemContext(info.context.session, group, now.date(), now, limits)


def ensure_manages(info: strawberry.Info, group: models.Group) -> None:
    """A leader needs eligibility MANAGE on the group (reps reach every group)."""
    if info.context.principal.may_access(group.id, "eligibility", AccessLevel.MANAGE):
        return
    info.context.audit.record(
        "denied:eligibility.change",
        target_type="Group",
        target_id=group.group_number,
        outcome=AuditOutcome.DENIED,
    )
    raise GraphQLError(
        "You do not have permission to change this group's eligibility.",
        extensions={"code": "FORBIDDEN"},
    )


def _refused(problems: RuleViolation) -> EligibilityChangesSubmitPayload:
    errors = user_errors(
        EligibilityChangesSubmitUserError, EligibilityChangesSubmitErrorCode, problems.problems
    )
    return EligibilityChangesSubmitPayload(changes=[], replayed=False, user_errors=errors)


def _key_problems(key: str) -> RuleViolation | None:
    """1 to 100 characters, not in the space eligibility files use (``file:…``)."""
    if key.strip() and len(key) <= 100 and not key.startswith(FILE_KEY_PREFIX):
        return None
    message = (
        "Give an idempotency key of 1 to 100 characters, unique per submission "
        f"(keys starting {FILE_KEY_PREFIX!r} are reserved for eligibility files)."
    )
    return RuleViolation([Problem("INVALID_IDEMPOTENCY_KEY", message, ("idempotencyKey",))])


async def _audit(info: strawberry.Info, result: BatchResult) -> None:
    """One event per applied item and one for the batch; a replay changed nothing, so it
    records only that it was replayed."""
    for item in [] if result.replayed else result.items:
        if item.status is models.ChangeStatus.APPLIED:
            info.context.audit.record(
                f"eligibility.{item.kind.value.lower()}",
                target_type="ChangeItem",
                target_id=str(item.id),
                changes={"effectiveDate": str(item.effective_date), "reason": item.reason},
            )
    await commit(
        info,
        "eligibility.changesReplay" if result.replayed else "eligibility.changesSubmit",
        target_type="ChangeBatch",
        target_id=str(result.batch.id),
        changes={"idempotencyKey": result.batch.idempotency_key, "count": len(result.items)},
    )


@strawberry.type
class EligibilityChangeMutations:
    @strawberry.mutation(
        description="Submit up to 100 eligibility changes for a group (eligibility:write and, "
        "for a benefit leader, eligibility MANAGE). Each is APPLIED, PENDING_REVIEW or "
        "REJECTED on its own. Idempotent by `idempotencyKey`.",
        extensions=requires(ELIGIBILITY_WRITE),
    )
    async def eligibility_changes_submit(
        self,
        info: strawberry.Info,
        input: Annotated[EligibilityChangesInput, strawberry.argument(description="Changes.")],
    ) -> EligibilityChangesSubmitPayload:
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            ensure_manages(info, group)
            if refused := _key_problems(input.idempotency_key):
                raise refused
            key = info.context.settings.ssn_hash_key.get_secret_value()
            changes = [change.to_service(key) for change in input.changes]
            submitter = Submitter(info.context.principal.user_id, info.context.principal.client_id)
            ctx = item_context(info, group)
            result = await submit(
                ctx, key=input.idempotency_key, changes=changes, submitter=submitter
            )
        except RuleViolation as refused:
            await discard(info)
            return _refused(refused)
        await _audit(info, result)
        return EligibilityChangesSubmitPayload(
            changes=[EligibilityChange.from_row(item) for item in result.items],
            replayed=result.replayed,
            user_errors=[],
        )
