"""paymentCreate (a benefit leader pays by ACH) and paymentRecord (a representative records
a check, wire or card payment); returned payments are ``api.schema.payment_reverse``.
SPEC §2 Billing: payments are applied to open invoices oldest due first and an overpayment
stays as credit. Every payment takes an idempotency key: the same key and input return the
first payment (`replayed`), other input with the key is refused."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import BILLING_WRITE, REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.billing import Payment
from api.schema.lookups import pk_of, visible_group
from api.schema.payments import amount_cents, bank_cipher, ensure_manages_billing
from api.schema.user_errors import UserError, user_errors
from api.services.ach_payments import pay_by_ach, reserved_key_problems
from api.services.dates import today
from api.services.payments import RecordedPayment, record_payment
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import PaymentMethod


@strawberry.enum(description="How a representative-recorded payment arrived.")
class PaymentRecordMethod(enum.Enum):
    CHECK = strawberry.enum_value("CHECK", description="A paper check.")
    WIRE = strawberry.enum_value("WIRE", description="A wire transfer.")
    CARD = strawberry.enum_value("CARD", description="A card payment taken by phone.")


@strawberry.input(description="Pay a group's premium by ACH from one of its bank accounts.")
class PaymentCreateInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    bank_account_id: relay.GlobalID = strawberry.field(
        description="The `id` of one of the group's bank accounts."
    )
    amount: Decimal = strawberry.field(
        description='USD, more than 0, whole cents, as a string (e.g. `"1250.00"`); what '
        "exceeds the open invoices stays as credit."
    )
    idempotency_key: str = strawberry.field(
        description="1 to 100 characters, new for each payment; resend the same key only to "
        "retry the very same payment."
    )


@strawberry.input(description="A payment a representative received (not ACH).")
class PaymentRecordInput:
    group_id: relay.GlobalID = strawberry.field(description="The paying group's `id`.")
    method: PaymentRecordMethod = strawberry.field(description="CHECK, WIRE or CARD.")
    amount: Decimal = strawberry.field(description="USD, more than 0, whole cents.")
    received_date: dt.date = strawberry.field(description="When it arrived; not in the future.")
    reference: str | None = strawberry.field(
        default=None, description="Check or wire number (at most 100 characters)."
    )
    idempotency_key: str = strawberry.field(description="1 to 100 characters, new per payment.")


def _code(name: str, description: str) -> Any:
    return strawberry.enum_value(name, description=description)


_GROUP_NOT_FOUND = ("GROUP_NOT_FOUND", "No such group.")
_AMOUNT_INVALID = ("AMOUNT_INVALID", "Fractions of a cent, or too large.")
_AMOUNT_NOT_POSITIVE = ("AMOUNT_NOT_POSITIVE", "Zero or negative.")
_KEY_INVALID = ("IDEMPOTENCY_KEY_INVALID", "Blank, over 100 characters, or reserved (`autopay:`).")
_KEY_REUSED = ("IDEMPOTENCY_KEY_REUSED", "The key was used for a different payment.")
_REPLAYED = (
    "True when an earlier request with this idempotency key recorded the payment (nothing "
    "was changed again)."
)


@strawberry.enum(description="Why paymentCreate refused.")
class PaymentCreateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = _code(*_GROUP_NOT_FOUND)
    BANK_ACCOUNT_NOT_FOUND = _code(
        "BANK_ACCOUNT_NOT_FOUND", "Not an active bank account of this group."
    )
    AMOUNT_INVALID = _code(*_AMOUNT_INVALID)
    AMOUNT_NOT_POSITIVE = _code(*_AMOUNT_NOT_POSITIVE)
    IDEMPOTENCY_KEY_INVALID = _code(*_KEY_INVALID)
    IDEMPOTENCY_KEY_REUSED = _code(*_KEY_REUSED)


@strawberry.type(description="A paymentCreate failure.")
class PaymentCreateUserError(UserError):
    code: PaymentCreateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The ACH payment, or why not.")
class PaymentCreatePayload:
    payment: Payment | None = strawberry.field(description="The payment (null when refused).")
    replayed: bool = strawberry.field(description=_REPLAYED)
    user_errors: list[PaymentCreateUserError] = strawberry.field(description="Empty on success.")


@strawberry.enum(description="Why paymentRecord refused.")
class PaymentRecordErrorCode(enum.Enum):
    GROUP_NOT_FOUND = _code(*_GROUP_NOT_FOUND)
    AMOUNT_INVALID = _code(*_AMOUNT_INVALID)
    AMOUNT_NOT_POSITIVE = _code(*_AMOUNT_NOT_POSITIVE)
    RECEIVED_DATE_IN_FUTURE = _code("RECEIVED_DATE_IN_FUTURE", "The received date is after today.")
    REFERENCE_TOO_LONG = _code("REFERENCE_TOO_LONG", "The reference is over 100 characters.")
    IDEMPOTENCY_KEY_INVALID = _code(*_KEY_INVALID)
    IDEMPOTENCY_KEY_REUSED = _code(*_KEY_REUSED)


@strawberry.type(description="A paymentRecord failure.")
class PaymentRecordUserError(UserError):
    code: PaymentRecordErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The recorded payment, or why not.")
class PaymentRecordPayload:
    payment: Payment | None = strawberry.field(description="The payment (null when refused).")
    replayed: bool = strawberry.field(description=_REPLAYED)
    user_errors: list[PaymentRecordUserError] = strawberry.field(description="Empty on success.")


def _create_refused(refused: RuleViolation) -> PaymentCreatePayload:
    errors = user_errors(PaymentCreateUserError, PaymentCreateErrorCode, refused.problems)
    return PaymentCreatePayload(payment=None, replayed=False, user_errors=errors)


def _record_refused(refused: RuleViolation) -> PaymentRecordPayload:
    errors = user_errors(PaymentRecordUserError, PaymentRecordErrorCode, refused.problems)
    return PaymentRecordPayload(payment=None, replayed=False, user_errors=errors)


async def _commit_payment(info: strawberry.Info, action: str, recorded: RecordedPayment) -> None:
    """Commit with the audit event; a replay changed nothing and is recorded as one."""
    payment = recorded.payment
    await commit(
        info,
        f"{action}Replay" if recorded.replayed else action,
        target_type="Payment",
        target_id=str(payment.id),
        changes={"idempotencyKey": payment.idempotency_key, "amountCents": payment.amount_cents},
    )


def _reference(reference: str | None) -> str | None:
    stripped = (reference or "").strip()
    return stripped or None


def _record_problems(input: PaymentRecordInput) -> list[Problem]:
    problems = reserved_key_problems(input.idempotency_key)
    if input.received_date > today():
        message = "A payment cannot be received after today; check the received date."
        problems.append(Problem("RECEIVED_DATE_IN_FUTURE", message, ("receivedDate",)))
    return problems


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        description="Pay by ACH from one of the group's bank accounts (billing:write and, for "
        "a benefit leader, billing MANAGE). Recorded as received today and applied to open "
        "invoices oldest due first. Idempotent by `idempotencyKey`.",
        extensions=requires(BILLING_WRITE),
    )
    async def payment_create(
        self,
        info: strawberry.Info,
        input: Annotated[PaymentCreateInput, strawberry.argument(description="The payment.")],
    ) -> PaymentCreatePayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            ensure_manages_billing(info, group, "payment.create")
            recorded = await pay_by_ach(
                ctx.session,
                group_id=group.id,
                bank_account_id=pk_of(input.bank_account_id, "BankAccount"),
                amount_cents=amount_cents(input.amount),
                idempotency_key=input.idempotency_key,
                cipher=bank_cipher(info),
                user_id=ctx.principal.user_id,
                audit=ctx.audit,
            )
        except RuleViolation as refused:
            await discard(info)
            return _create_refused(refused)
        await _commit_payment(info, "payment.create", recorded)
        return PaymentCreatePayload(
            payment=Payment.from_row(recorded.payment), replayed=recorded.replayed, user_errors=[]
        )

    @strawberry.mutation(
        description="Record a check, wire or card payment a group sent (rep:billing), applied "
        "to open invoices oldest due first. Idempotent by `idempotencyKey`.",
        extensions=requires(REP_BILLING),
    )
    async def payment_record(
        self,
        info: strawberry.Info,
        input: Annotated[PaymentRecordInput, strawberry.argument(description="The payment.")],
    ) -> PaymentRecordPayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            refuse_if(_record_problems(input))
            recorded = await record_payment(
                ctx.session,
                group_id=group.id,
                amount_cents=amount_cents(input.amount),
                method=PaymentMethod[input.method.name],
                received_date=input.received_date,
                reference=_reference(input.reference),
                idempotency_key=input.idempotency_key,
                user_id=ctx.principal.user_id,
                audit=ctx.audit,
            )
        except RuleViolation as refused:
            await discard(info)
            return _record_refused(refused)
        await _commit_payment(info, "payment.record", recorded)
        return PaymentRecordPayload(
            payment=Payment.from_row(recorded.payment), replayed=recorded.replayed, user_errors=[]
        )
