"""remittanceSubmit (a self-billed group remits a month: billing:write, and billing MANAGE
for a benefit leader; representatives may submit too) and remittanceResolve (a
representative decides an exception: rep:billing). Both are all-or-nothing: a refused
request leaves nothing behind, and the work commits with its audit event. The rules and
postings are ``api.services.remittances``; the types are ``api.schema.remittances``.

The roster comes as ``lines`` or as ``csv`` text in the same input (columns
``member_id,plan_code,tier,amount``, header required, see ``api.services.remittance_csv``):
a CSV is an ordinary JSON string, so no multipart request (and no CSRF preflight) is needed.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import BILLING_WRITE, REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.enums import CoverageTier
from api.schema.lookups import pk_of, visible_group
from api.schema.payments import amount_cents, ensure_manages_billing
from api.schema.remittances import Remittance
from api.schema.user_errors import UserError, user_errors
from api.services import remittance_csv, remittances
from api.services.dates import today
from api.services.remittance_checks import MAX_REASON
from api.services.remittance_rules import MAX_LINES, RosterLine
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import RemittanceDecision, RemittanceSource


@strawberry.input(description="One subscriber's line of a remittance roster.")
class RemittanceLineInput:
    member_id: str = strawberry.field(description="The subscriber's carrier member ID.")
    plan_code: str = strawberry.field(description="The plan remitted for (case is ignored).")
    tier: CoverageTier = strawberry.field(description="The tier remitted for.")
    amount: Decimal = strawberry.field(
        description='USD remitted for the subscriber, 0 or more, whole cents (e.g. "40.00").'
    )


@strawberry.input(
    description="A self-billed group's remittance for a month: the amount and the roster, "
    "as `lines` or as `csv` (exactly one of them)."
)
class RemittanceSubmitInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    month: dt.date = strawberry.field(
        description="Any day of the coverage month (its 1st is used), from the 15th of the "
        "month before."
    )
    amount: Decimal = strawberry.field(
        description="USD remitted in total, whole cents; must be the sum of the lines."
    )
    lines: list[RemittanceLineInput] | None = strawberry.field(
        default=None,
        description=f"One line per subscriber remitted for, 1 to {MAX_LINES}; line numbers "
        "in messages count from 1.",
    )
    csv: str | None = strawberry.field(
        default=None,
        description="The roster as CSV text instead of `lines`: UTF-8, header line "
        "`member_id,plan_code,tier,amount` required (any column order), one line per "
        "subscriber, amounts like `40.00`. A CSV with any error is refused whole, each "
        "error naming its line (the header is line 1).",
    )
    idempotency_key: str = strawberry.field(
        description="1 to 100 characters, new for each remittance; resend the same key only "
        "to retry the very same remittance (it returns the first result)."
    )


@strawberry.enum(description="Why remittanceSubmit refused; nothing was stored or posted.")
class RemittanceSubmitErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    NOT_SELF_BILLED = strawberry.enum_value(
        "NOT_SELF_BILLED", description="The group is list-billed: it pays invoices instead."
    )
    GROUP_NOT_ACTIVE = strawberry.enum_value(
        "GROUP_NOT_ACTIVE", description="The group is still being set up."
    )
    MONTH_OUTSIDE_COVERAGE = strawberry.enum_value(
        "MONTH_OUTSIDE_COVERAGE", description="Before the group's effective date or after it ends."
    )
    TOO_EARLY = strawberry.enum_value("TOO_EARLY", description="The month cannot be remitted yet.")
    ALREADY_ACCEPTED = strawberry.enum_value(
        "ALREADY_ACCEPTED", description="The month's remittance is already accepted and posted."
    )
    MONTH_ALREADY_BILLED = strawberry.enum_value(
        "MONTH_ALREADY_BILLED", description="The group has an invoice for the month already."
    )
    RATE_MISSING = strawberry.enum_value(
        "RATE_MISSING", description="A subscriber's plan has no rate in force on the 1st."
    )
    ROSTER_REQUIRED = strawberry.enum_value(
        "ROSTER_REQUIRED", description="Neither or both of `lines` and `csv`, or no lines."
    )
    TOO_MANY_LINES = strawberry.enum_value(
        "TOO_MANY_LINES", description=f"More than {MAX_LINES} lines."
    )
    LINE_INVALID = strawberry.enum_value(
        "LINE_INVALID", description="A line's member ID, plan code or amount is unusable."
    )
    DUPLICATE_MEMBER = strawberry.enum_value(
        "DUPLICATE_MEMBER", description="A member is on two lines."
    )
    AMOUNT_INVALID = strawberry.enum_value(
        "AMOUNT_INVALID", description="Fractions of a cent, or too large."
    )
    AMOUNT_NEGATIVE = strawberry.enum_value("AMOUNT_NEGATIVE", description="Below zero.")
    AMOUNT_NOT_SUM_OF_LINES = strawberry.enum_value(
        "AMOUNT_NOT_SUM_OF_LINES", description="`amount` is not what the lines add up to."
    )
    CSV_INVALID = strawberry.enum_value(
        "CSV_INVALID", description="The CSV is empty or its header is not the documented one."
    )
    CSV_LINE_INVALID = strawberry.enum_value(
        "CSV_LINE_INVALID", description="A CSV line is wrong; the message names the line."
    )
    IDEMPOTENCY_KEY_INVALID = strawberry.enum_value(
        "IDEMPOTENCY_KEY_INVALID", description="Blank or over 100 characters."
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The key was used for a different remittance."
    )


@strawberry.type(description="A remittanceSubmit failure.")
class RemittanceSubmitUserError(UserError):
    code: RemittanceSubmitErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The evaluated remittance, or why not.")
class RemittanceSubmitPayload:
    remittance: Remittance | None = strawberry.field(
        description="ACCEPTED (posted) or EXCEPTION (waiting for a representative); null "
        "when refused."
    )
    replayed: bool = strawberry.field(
        description="True when an earlier request with this idempotency key created it "
        "(nothing was changed again; the remittance is shown as it is now)."
    )
    user_errors: list[RemittanceSubmitUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A representative's decision on a remittance exception.")
class RemittanceResolveInput:
    id: relay.GlobalID = strawberry.field(description="The remittance's `id`.")
    decision: RemittanceDecision = strawberry.field(description="ACCEPT or REJECT.")
    reason: str = strawberry.field(
        description=f"Why it is accepted (kept on the true-up and in the audit log), or the "
        f"message the group sees for a rejection; at most {MAX_REASON} characters."
    )


@strawberry.enum(description="Why remittanceResolve refused; nothing was posted.")
class RemittanceResolveErrorCode(enum.Enum):
    REMITTANCE_NOT_FOUND = strawberry.enum_value(
        "REMITTANCE_NOT_FOUND", description="No such remittance."
    )
    NOT_AN_EXCEPTION = strawberry.enum_value(
        "NOT_AN_EXCEPTION", description="Already accepted, rejected or superseded."
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="No reason given.")
    REASON_TOO_LONG = strawberry.enum_value("REASON_TOO_LONG", description="Reason too long.")
    EXPECTED_CHANGED = strawberry.enum_value(
        "EXPECTED_CHANGED",
        description="Eligibility changed since submission: reject it and have the group "
        "submit again.",
    )
    MONTH_ALREADY_BILLED = strawberry.enum_value(
        "MONTH_ALREADY_BILLED", description="The group has an invoice for the month already."
    )
    RATE_MISSING = strawberry.enum_value(
        "RATE_MISSING", description="A subscriber's plan has no rate in force on the 1st."
    )


@strawberry.type(description="A remittanceResolve failure.")
class RemittanceResolveUserError(UserError):
    code: RemittanceResolveErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The decided remittance, or why not.")
class RemittanceResolvePayload:
    remittance: Remittance | None = strawberry.field(description="Null when refused.")
    user_errors: list[RemittanceResolveUserError] = strawberry.field(
        description="Empty on success."
    )


def _roster(input: RemittanceSubmitInput) -> tuple[tuple[RosterLine, ...], RemittanceSource]:
    """The lines from ``lines`` or ``csv``; every amount problem at once."""
    if (input.lines is None) == (input.csv is None):
        message = "Send the roster either as `lines` or as `csv`, not both and not neither."
        raise RuleViolation([Problem("ROSTER_REQUIRED", message, ("lines",))])
    if input.csv is not None:
        return tuple(remittance_csv.parse(input.csv)), RemittanceSource.CSV
    lines = input.lines or []
    if len(lines) > MAX_LINES:
        message = f"Send at most {MAX_LINES} lines per remittance."
        raise RuleViolation([Problem("TOO_MANY_LINES", message, ("lines",))])
    problems: list[Problem] = []
    roster = []
    for index, line in enumerate(lines):
        try:
            cents = amount_cents(line.amount, ("lines", str(index), "amount"))
        except RuleViolation as refused:
            problems += refused.problems
            cents = 0
        roster.append(RosterLine(index + 1, line.member_id.strip(),
                                 line.plan_code.strip().upper(), line.tier, cents))  # fmt: skip
    refuse_if(problems)
    return tuple(roster), RemittanceSource.LINES


def _submission(input: RemittanceSubmitInput) -> remittances.Submission:
    problems: list[Problem] = []
    try:
        total = amount_cents(input.amount)
    except RuleViolation as refused:
        problems, total = refused.problems, 0
    try:
        lines, source = _roster(input)
    except RuleViolation as refused:
        raise RuleViolation([*problems, *refused.problems]) from None
    refuse_if(problems)
    return remittances.Submission(input.month, total, lines, source, input.idempotency_key)


async def _submitted(
    info: strawberry.Info, submitted: remittances.Submitted
) -> RemittanceSubmitPayload:
    row = submitted.remittance
    changes = {
        "month": row.month.isoformat(), "amountCents": row.amount_cents,
        "expectedCents": row.expected_cents, "status": row.status.value,
        "idempotencyKey": row.idempotency_key, "supersedes": submitted.superseded_id,
    }  # fmt: skip
    action = "remittance.submitReplay" if submitted.replayed else "remittance.submit"
    await commit(info, action, target_type="Remittance", target_id=str(row.id), changes=changes)
    return RemittanceSubmitPayload(
        remittance=Remittance.from_row(row), replayed=submitted.replayed, user_errors=[]
    )


@strawberry.type
class RemittanceMutations:
    @strawberry.mutation(
        description="Remit a month's premium for a self-billed group (billing:write; a "
        "benefit leader needs billing MANAGE): the amount and the roster. Within the "
        "exception threshold it is ACCEPTED and posted (the month's invoice at the expected "
        "premium and a SELF_BILL_TRUE_UP entry for the variance); beyond it, an EXCEPTION "
        "with per-member differences for a representative. A new submission supersedes the "
        "month's open exception; a month already accepted is refused. Idempotent by "
        "`idempotencyKey`.",
        extensions=requires(BILLING_WRITE),
    )
    async def remittance_submit(
        self,
        info: strawberry.Info,
        input: Annotated[RemittanceSubmitInput, strawberry.argument(description="Remittance.")],
    ) -> RemittanceSubmitPayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            ensure_manages_billing(info, group, "remittance.submit")
            submitted = await remittances.submit(
                ctx.session,
                group=group,
                submission=_submission(input),
                defaults=remittances.Thresholds(
                    ctx.settings.remittance_threshold_cents,
                    ctx.settings.remittance_threshold_percent,
                ),
                user_id=ctx.principal.user_id,
                audit=ctx.audit,
                today=today(),
            )
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                RemittanceSubmitUserError, RemittanceSubmitErrorCode, refused.problems
            )
            return RemittanceSubmitPayload(remittance=None, replayed=False, user_errors=errors)
        return await _submitted(info, submitted)

    @strawberry.mutation(
        description="Decide a remittance exception (rep:billing): ACCEPT posts it as an "
        "accepted remittance whatever the variance (the reason is kept on the true-up and in "
        "the audit log); REJECT posts nothing and shows the reason to the group, which may "
        "submit the month again.",
        extensions=requires(REP_BILLING),
    )
    async def remittance_resolve(
        self,
        info: strawberry.Info,
        input: Annotated[RemittanceResolveInput, strawberry.argument(description="Decision.")],
    ) -> RemittanceResolvePayload:
        ctx = info.context
        try:
            row = await remittances.resolve(
                ctx.session,
                remittance_id=pk_of(input.id, "Remittance"),
                decision=input.decision,
                reason=input.reason,
                user_id=ctx.principal.user_id,
                audit=ctx.audit,
            )
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                RemittanceResolveUserError, RemittanceResolveErrorCode, refused.problems
            )
            return RemittanceResolvePayload(remittance=None, user_errors=errors)
        changes = {"decision": input.decision.value, "reason": input.reason.strip(),
                   "invoice": row.invoice_id}  # fmt: skip
        action = f"remittance.{input.decision.value.lower()}"
        await commit(info, action, target_type="Remittance", target_id=str(row.id),
                     changes=changes)  # fmt: skip
        return RemittanceResolvePayload(remittance=Remittance.from_row(row), user_errors=[])
