"""adjustmentPost and invoiceWriteOff (rep:billing): corrections are new ledger entries with
a reason code, never edits of an issued invoice (SPEC §2 Billing: account ledger; issue 7:
"rep adjustments, reason codes, audited, and write-offs")."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Self

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.groups import Group
from api.schema.invoices import Invoice
from api.schema.lookups import pk_of, visible_group
from api.schema.money import Money
from api.schema.payments import amount_cents
from api.schema.user_errors import UserError, user_errors
from api.services.adjustments import INVOICE_NOT_FOUND, MAX_MEMO, post_adjustment, write_off
from api.services.ledger_requests import fingerprint_of, once
from api.services.rules import RuleViolation
from db import models
from db.models import LedgerReason


@strawberry.enum(description="Why a representative adjusts a group's account.")
class AdjustmentReasonCode(enum.Enum):
    BILLING_ERROR = strawberry.enum_value("BILLING_ERROR", description="Correct a billing error.")
    GOODWILL = strawberry.enum_value("GOODWILL", description="A goodwill credit.")
    LATE_FEE = strawberry.enum_value("LATE_FEE", description="A late-payment charge.")
    SMALL_BALANCE = strawberry.enum_value(
        "SMALL_BALANCE", description="Clear a small remaining balance or credit."
    )
    OTHER = strawberry.enum_value("OTHER", description="Anything else (say what in the memo).")


@strawberry.enum(description="Why a representative writes off part of an invoice.")
class WriteOffReasonCode(enum.Enum):
    UNCOLLECTIBLE = strawberry.enum_value("UNCOLLECTIBLE", description="It will not be paid.")
    SMALL_BALANCE = strawberry.enum_value("SMALL_BALANCE", description="A small remainder.")
    BILLING_ERROR = strawberry.enum_value("BILLING_ERROR", description="It was billed in error.")
    GOODWILL = strawberry.enum_value("GOODWILL", description="Forgiven as goodwill.")
    OTHER = strawberry.enum_value("OTHER", description="Anything else (say what in the memo).")


@strawberry.type(description="A ledger entry a representative posted.")
class LedgerPosting:
    amount: Money = strawberry.field(
        description="Signed: positive charges the group, negative credits it."
    )
    entry_date: dt.date = strawberry.field(description="The day it counts from.")
    memo: str | None = strawberry.field(description="Why, as shown on the ledger.")

    @classmethod
    def from_row(cls, row: models.LedgerEntry) -> Self:
        return cls(
            amount=Money.from_cents(row.amount_cents), entry_date=row.entry_date, memo=row.memo
        )


@strawberry.input(description="An adjustment of a group's account.")
class AdjustmentPostInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    amount: Decimal = strawberry.field(
        description="USD, whole cents, not 0: positive charges the group (a late fee), "
        "negative credits it (goodwill)."
    )
    reason_code: AdjustmentReasonCode = strawberry.field(description="Why.")
    memo: str = strawberry.field(description=f"Why, in words (at most {MAX_MEMO} characters).")
    idempotency_key: str = strawberry.field(
        description="A new key per adjustment: a retry with the same key and input returns "
        "the first entry; the key with other input is refused."
    )


@strawberry.enum(description="Why adjustmentPost refused.")
class AdjustmentPostErrorCode(enum.Enum):
    IDEMPOTENCY_KEY_INVALID = strawberry.enum_value(
        "IDEMPOTENCY_KEY_INVALID", description="The key is empty or too long."
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The key was used for other input."
    )
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    AMOUNT_INVALID = strawberry.enum_value(
        "AMOUNT_INVALID", description="Fractions of a cent, or too large."
    )
    AMOUNT_ZERO = strawberry.enum_value("AMOUNT_ZERO", description="An adjustment of 0.")
    MEMO_MISSING = strawberry.enum_value("MEMO_MISSING", description="No memo.")
    MEMO_TOO_LONG = strawberry.enum_value("MEMO_TOO_LONG", description="The memo is too long.")


@strawberry.type(description="An adjustmentPost failure.")
class AdjustmentPostUserError(UserError):
    code: AdjustmentPostErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The posted adjustment, or why not.")
class AdjustmentPostPayload:
    adjustment: LedgerPosting | None = strawberry.field(
        description="The entry (null when refused)."
    )
    group: Group | None = strawberry.field(description="The group adjusted (null when refused).")
    replayed: bool = strawberry.field(
        default=False, description="The entry of an earlier request with this key."
    )
    user_errors: list[AdjustmentPostUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Write off what is open on an issued invoice, or part of it.")
class InvoiceWriteOffInput:
    invoice_id: relay.GlobalID = strawberry.field(description="The invoice's `id`.")
    amount: Decimal | None = strawberry.field(
        default=None,
        description="USD, whole cents, more than 0 and at most what is open; null or left "
        "out: all that is open.",
    )
    reason_code: WriteOffReasonCode = strawberry.field(
        default=WriteOffReasonCode.UNCOLLECTIBLE, description="Why (UNCOLLECTIBLE if left out)."
    )
    memo: str = strawberry.field(description=f"Why, in words (at most {MAX_MEMO} characters).")
    idempotency_key: str = strawberry.field(
        description="A new key per write-off: a retry with the same key and input returns "
        "the first entry; the key with other input is refused."
    )


@strawberry.enum(description="Why invoiceWriteOff refused.")
class InvoiceWriteOffErrorCode(enum.Enum):
    IDEMPOTENCY_KEY_INVALID = strawberry.enum_value(
        "IDEMPOTENCY_KEY_INVALID", description="The key is empty or too long."
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The key was used for other input."
    )
    INVOICE_NOT_FOUND = strawberry.enum_value("INVOICE_NOT_FOUND", description="No such invoice.")
    INVOICE_NOT_POSTED = strawberry.enum_value(
        "INVOICE_NOT_POSTED", description="The invoice is not issued (a draft, or void)."
    )
    NOTHING_OPEN = strawberry.enum_value("NOTHING_OPEN", description="Nothing is open on it.")
    AMOUNT_INVALID = strawberry.enum_value(
        "AMOUNT_INVALID", description="Fractions of a cent, or too large."
    )
    WRITE_OFF_OUT_OF_RANGE = strawberry.enum_value(
        "WRITE_OFF_OUT_OF_RANGE", description="Not more than 0, or more than is open."
    )
    MEMO_MISSING = strawberry.enum_value("MEMO_MISSING", description="No memo.")
    MEMO_TOO_LONG = strawberry.enum_value("MEMO_TOO_LONG", description="The memo is too long.")


@strawberry.type(description="An invoiceWriteOff failure.")
class InvoiceWriteOffUserError(UserError):
    code: InvoiceWriteOffErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The invoice after the write-off, or why not.")
class InvoiceWriteOffPayload:
    invoice: Invoice | None = strawberry.field(description="The invoice (null when refused).")
    write_off: LedgerPosting | None = strawberry.field(
        description="The entry, negative (null when refused)."
    )
    replayed: bool = strawberry.field(
        default=False, description="The entry of an earlier request with this key."
    )
    user_errors: list[InvoiceWriteOffUserError] = strawberry.field(description="Empty on success.")


async def _invoice(session: AsyncSession, pk: int) -> models.Invoice:
    invoice = await session.get(models.Invoice, pk) if pk > 0 else None
    if invoice is None:
        raise RuleViolation([INVOICE_NOT_FOUND])
    return invoice


@strawberry.type
class AdjustmentMutations:
    @strawberry.mutation(
        description="Post an adjustment to a group's account (rep:billing): it moves the "
        "balance but no invoice's open amount.",
        extensions=requires(REP_BILLING),
    )
    async def adjustment_post(
        self,
        info: strawberry.Info,
        input: Annotated[AdjustmentPostInput, strawberry.argument(description="The entry.")],
    ) -> AdjustmentPostPayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            cents, reason = amount_cents(input.amount), LedgerReason[input.reason_code.name]
            posted = await once(
                ctx.session, group_id=group.id, key=input.idempotency_key, audit=ctx.audit,
                fingerprint=fingerprint_of("adjustment", cents, reason, input.memo.strip()),
                post=lambda: post_adjustment(
                    ctx.session, group_id=group.id, amount_cents=cents, reason_code=reason,
                    memo=input.memo, user_id=ctx.principal.user_id, audit=ctx.audit,
                ),
            )  # fmt: skip
            entry = posted.entry
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(AdjustmentPostUserError, AdjustmentPostErrorCode, refused.problems)
            return AdjustmentPostPayload(adjustment=None, group=None, user_errors=errors)
        await commit(
            info,
            "adjustment.post",
            target_type="Group",
            target_id=group.group_number,
            changes={"amountCents": entry.amount_cents, "reasonCode": input.reason_code.name},
        )
        return AdjustmentPostPayload(
            adjustment=LedgerPosting.from_row(entry), group=Group.from_row(group),
            replayed=posted.replayed, user_errors=[],
        )  # fmt: skip

    @strawberry.mutation(
        description="Write off what is open on an issued invoice, or part of it (rep:billing); "
        "an invoice written off to nothing is PAID.",
        extensions=requires(REP_BILLING),
    )
    async def invoice_write_off(
        self,
        info: strawberry.Info,
        input: Annotated[InvoiceWriteOffInput, strawberry.argument(description="The write-off.")],
    ) -> InvoiceWriteOffPayload:
        ctx = info.context
        try:
            cents = None if input.amount is None else amount_cents(input.amount)
            target = await _invoice(ctx.session, pk_of(input.invoice_id, "Invoice"))
            reason = LedgerReason[input.reason_code.name]
            request = fingerprint_of("writeOff", target.id, cents, reason, input.memo.strip())
            posted = await once(
                ctx.session, group_id=target.group_id, key=input.idempotency_key, audit=ctx.audit,
                fingerprint=request,
                post=lambda: write_off(
                    ctx.session, invoice_id=target.id, reason_code=reason, memo=input.memo,
                    user_id=ctx.principal.user_id, audit=ctx.audit, amount_cents=cents,
                ),
            )  # fmt: skip
            entry = posted.entry
            invoice = await ctx.session.get(models.Invoice, entry.invoice_id)
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                InvoiceWriteOffUserError, InvoiceWriteOffErrorCode, refused.problems
            )
            return InvoiceWriteOffPayload(invoice=None, write_off=None, user_errors=errors)
        await commit(
            info,
            "invoice.writeOff",
            target_type="Invoice",
            target_id=str(entry.invoice_id),
            changes={"amountCents": entry.amount_cents, "reasonCode": input.reason_code.name},
        )
        return InvoiceWriteOffPayload(
            invoice=None if invoice is None else Invoice.from_row(invoice),
            write_off=LedgerPosting.from_row(entry),
            replayed=posted.replayed,
            user_errors=[],
        )
