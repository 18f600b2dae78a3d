"""Terminating a group and issuing its premium refund (reps). The rules are
``api.services.group_termination`` and ``api.services.refunds``."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING, REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.invoices import Invoice
from api.schema.lookups import visible_group
from api.schema.money import Money
from api.schema.payments import bank_cipher
from api.schema.user_errors import UserError, user_errors
from api.services import group_termination, refunds
from api.services.dates import utc_now
from api.services.rules import RuleViolation
from db import models
from db.models import RefundStatus

if TYPE_CHECKING:
    from api.schema.groups import Group

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]

strawberry.enum(RefundStatus, description="PENDING until a rep issues it; then ISSUED.")


@strawberry.type(description="A premium refund of a terminated group's credit.")
class Refund:
    id: int = strawberry.field(description="The refund's number (for `refundIssue`).")
    amount: Money = strawberry.field(description="What is returned to the group.")
    status: RefundStatus = strawberry.field(description="Where the refund is.")
    reason: str = strawberry.field(description="Why there is a refund.")
    reference: str | None = strawberry.field(description="The check or transfer, once issued.")
    created_at: dt.datetime = strawberry.field(description="When it was recorded (UTC).")
    issued_at: dt.datetime | None = strawberry.field(description="When it was issued (UTC).")

    @classmethod
    def from_row(cls, row: models.Refund) -> Self:
        return cls(
            id=row.id, amount=Money.from_cents(row.amount_cents), status=row.status,
            reason=row.reason, reference=row.reference, created_at=row.created_at,
            issued_at=row.issued_at,
        )  # fmt: skip


async def group_refunds(info: strawberry.Info, group_pk: int) -> list[Refund]:
    rows = await info.context.loaders.group_refunds.load(group_pk)
    return [Refund.from_row(row) for row in rows]


@strawberry.input(description="End a group's coverage and settle its account.")
class GroupTerminateInput:
    id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    termination_date: dt.date = strawberry.field(
        description="The last covered day: the last day of a month, at the latest this one."
    )
    reason: str = strawberry.field(description="Why (kept in the audit log and on the refund).")


@strawberry.enum(description="Why groupTerminate refused.")
class GroupTerminateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    GROUP_TERMINATED = strawberry.enum_value(
        "GROUP_TERMINATED", description="The group is already terminated."
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Say why.")
    NOT_LAST_OF_MONTH = strawberry.enum_value(
        "NOT_LAST_OF_MONTH", description="Coverage ends on the last day of a month."
    )
    BEFORE_GROUP_EFFECTIVE_DATE = strawberry.enum_value(
        "BEFORE_GROUP_EFFECTIVE_DATE", description="The date is before the group starts."
    )
    TOO_FAR_AHEAD = strawberry.enum_value(
        "TOO_FAR_AHEAD", description="At the latest the end of this month."
    )


@strawberry.type(description="A groupTerminate failure.")
class GroupTerminateUserError(UserError):
    code: GroupTerminateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The terminated group, its final invoice and refund, or why not.")
class GroupTerminatePayload:
    group: GroupRef | None = strawberry.field(description="The group (null when refused).")
    final_invoice: Invoice | None = strawberry.field(
        description="The final invoice (retro credits for months billed past the date)."
    )
    refund: Refund | None = strawberry.field(description="The credit left, as a refund.")
    user_errors: list[GroupTerminateUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Record that a pending refund was sent.")
class RefundIssueInput:
    id: int = strawberry.field(description="The refund's number.")
    reference: str = strawberry.field(description="The check number or transfer reference.")


@strawberry.enum(description="Why refundIssue refused.")
class RefundIssueErrorCode(enum.Enum):
    NOT_PENDING = strawberry.enum_value("NOT_PENDING", description="Not waiting to be issued.")
    REFERENCE_REQUIRED = strawberry.enum_value(
        "REFERENCE_REQUIRED", description="Give the check or transfer reference."
    )


@strawberry.type(description="A refundIssue failure.")
class RefundIssueUserError(UserError):
    code: RefundIssueErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The issued refund, or why not.")
class RefundIssuePayload:
    refund: Refund | None = strawberry.field(description="The refund (null when refused).")
    user_errors: list[RefundIssueUserError] = strawberry.field(description="Empty on success.")


@strawberry.type
class GroupTerminationMutations:
    @strawberry.mutation(
        description="Terminate a group (rep:groups): every coverage ends on the date, the "
        "final invoice is built and issued with retro credits for months billed past it, and "
        "a credit left becomes a PENDING premium refund. All in one transaction.",
        extensions=requires(REP_GROUPS),
    )
    async def group_terminate(
        self,
        info: strawberry.Info,
        input: Annotated[GroupTerminateInput, strawberry.argument(description="The group.")],
    ) -> GroupTerminatePayload:
        from api.schema.groups import Group

        ctx = info.context
        issuer = group_termination.Issuer(
            ctx.principal.user_id, ctx.audit, utc_now(), ctx.settings.carrier_name,
            bank_cipher(info),
        )  # fmt: skip
        try:
            group = await visible_group(info, input.id, field=("id",))
            done = await group_termination.terminate(
                ctx.session, group, last_day=input.termination_date, reason=input.reason,
                issuer=issuer,
            )  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            codes = GroupTerminateErrorCode
            errors = user_errors(GroupTerminateUserError, codes, refused.problems)
            return GroupTerminatePayload(group=None, final_invoice=None, refund=None,
                                         user_errors=errors)  # fmt: skip
        await commit(info, "group.terminate", target_type="Group", target_id=group.group_number)
        final = Invoice.from_row(done.final_invoice) if done.final_invoice else None
        refund = Refund.from_row(done.refund) if done.refund else None
        return GroupTerminatePayload(group=Group.from_row(group), final_invoice=final,
                                     refund=refund, user_errors=[])  # fmt: skip

    @strawberry.mutation(
        description="Record a pending premium refund as sent (rep:billing): a REFUND entry "
        "on the group's ledger brings its credit back to zero.",
        extensions=requires(REP_BILLING),
    )
    async def refund_issue(
        self,
        info: strawberry.Info,
        input: Annotated[RefundIssueInput, strawberry.argument(description="The refund.")],
    ) -> RefundIssuePayload:
        ctx = info.context
        try:
            refund = await refunds.pending_refund(ctx.session, input.id)
            await refunds.issue(
                ctx.session, refund, reference=input.reference, user_id=ctx.principal.user_id,
                audit=ctx.audit, now=utc_now(),
            )  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(RefundIssueUserError, RefundIssueErrorCode, refused.problems)
            return RefundIssuePayload(refund=None, user_errors=errors)
        await commit(info, "refund.issue", target_type="Refund", target_id=str(refund.id))
        return RefundIssuePayload(refund=Refund.from_row(refund), user_errors=[])
