"""paymentReverse (rep:billing): a payment that came back, e.g. NSF, is reversed; what it
paid is open again and a returned-payment entry is posted (SPEC §2 Billing: payments)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.billing import Payment
from api.schema.lookups import pk_of
from api.schema.user_errors import UserError, user_errors
from api.services.payments import reverse_payment
from api.services.rules import Problem, RuleViolation
from db import models

MAX_REASON = 500


@strawberry.input(description="A payment that came back (e.g. NSF).")
class PaymentReverseInput:
    payment_id: relay.GlobalID = strawberry.field(description="The payment's `id`.")
    reason: str = strawberry.field(description="Why it came back, e.g. `NSF` (kept on the ledger).")


@strawberry.enum(description="Why paymentReverse refused.")
class PaymentReverseErrorCode(enum.Enum):
    PAYMENT_NOT_FOUND = strawberry.enum_value("PAYMENT_NOT_FOUND", description="No such payment.")
    REASON_MISSING = strawberry.enum_value("REASON_MISSING", description="No reason given.")
    REASON_TOO_LONG = strawberry.enum_value(
        "REASON_TOO_LONG", description="The reason is over 500 characters."
    )
    PAYMENT_ALREADY_RETURNED = strawberry.enum_value(
        "PAYMENT_ALREADY_RETURNED", description="It was reversed before."
    )


@strawberry.type(description="A paymentReverse failure.")
class PaymentReverseUserError(UserError):
    code: PaymentReverseErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The reversed payment, or why not.")
class PaymentReversePayload:
    payment: Payment | None = strawberry.field(
        description="The payment, now returned (null when refused)."
    )
    user_errors: list[PaymentReverseUserError] = strawberry.field(description="Empty on success.")


@strawberry.type
class PaymentReverseMutations:
    @strawberry.mutation(
        description="Reverse a payment that came back, e.g. NSF (rep:billing): what it paid is "
        "open again and a returned-payment entry is posted. A payment is reversed once.",
        extensions=requires(REP_BILLING),
    )
    async def payment_reverse(
        self,
        info: strawberry.Info,
        input: Annotated[PaymentReverseInput, strawberry.argument(description="The payment.")],
    ) -> PaymentReversePayload:
        ctx = info.context
        try:
            if len(input.reason) > MAX_REASON:
                message = f"Keep the reason under {MAX_REASON} characters."
                raise RuleViolation([Problem("REASON_TOO_LONG", message, ("reason",))])
            entry = await reverse_payment(
                ctx.session,
                payment_id=pk_of(input.payment_id, "Payment"),
                reason=input.reason,
                user_id=ctx.principal.user_id,
                audit=ctx.audit,
            )
            payment = await ctx.session.get(models.Payment, entry.payment_id)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(PaymentReverseUserError, PaymentReverseErrorCode, refused.problems)
            return PaymentReversePayload(payment=None, user_errors=errors)
        await commit(
            info,
            "payment.reverse",
            target_type="Payment",
            target_id=str(entry.payment_id),
            changes={"reason": input.reason.strip(), "reversalCents": entry.amount_cents},
        )
        returned = None if payment is None else Payment.from_row(payment)
        return PaymentReversePayload(payment=returned, user_errors=[])
