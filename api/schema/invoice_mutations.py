"""Issuing and voiding invoices (rep:billing). The rules are ``api.services.invoices``."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.invoices import Invoice
from api.schema.lookups import pk_of
from api.schema.payments import bank_cipher
from api.schema.user_errors import UserError, user_errors
from api.services import invoices
from api.services.dates import utc_now
from api.services.rules import Problem, RuleViolation
from db import models


@strawberry.enum(description="Why an invoice could not be issued or voided.")
class InvoiceDecisionErrorCode(enum.Enum):
    INVOICE_NOT_FOUND = strawberry.enum_value("INVOICE_NOT_FOUND", description="No such invoice.")
    NOT_DRAFT = strawberry.enum_value("NOT_DRAFT", description="It is past DRAFT.")
    RATE_MISSING = strawberry.enum_value(
        "RATE_MISSING", description="A premium line has no rate in force."
    )
    TOTAL_MISMATCH = strawberry.enum_value(
        "TOTAL_MISMATCH", description="The total is not the sum of the lines."
    )
    BILLED_TWICE = strawberry.enum_value(
        "BILLED_TWICE", description="A subscriber's month is already on an issued invoice."
    )
    INVOICE_NEGATIVE = strawberry.enum_value(
        "INVOICE_NEGATIVE", description="The total is a credit: post it as an adjustment."
    )
    ALREADY_VOID = strawberry.enum_value("ALREADY_VOID", description="It is void already.")
    FINAL_CREDIT = strawberry.enum_value(
        "FINAL_CREDIT", description="A terminated group's final credit invoice stands."
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Say why.")


@strawberry.type(description="Why an invoice could not be issued or voided.")
class InvoiceDecisionUserError(UserError):
    code: InvoiceDecisionErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The invoice, or why not.")
class InvoiceDecisionPayload:
    invoice: Invoice | None = strawberry.field(description="The invoice (null when refused).")
    user_errors: list[InvoiceDecisionUserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="A draft of the month that could not be issued.")
class InvoiceRefusal:
    invoice: Invoice = strawberry.field(description="The draft, still DRAFT.")
    user_errors: list[InvoiceDecisionUserError] = strawberry.field(description="What to fix.")


@strawberry.type(description="The drafts of a month issued, and those that could not be.")
class InvoicesIssuePayload:
    issued: list[Invoice] = strawberry.field(description="Now ISSUED.")
    refused: list[InvoiceRefusal] = strawberry.field(description="Left as DRAFT, with why.")


@strawberry.input(description="Issue one draft.")
class InvoiceIssueInput:
    id: relay.GlobalID = strawberry.field(description="The invoice's `id`.")


@strawberry.input(description="Issue every draft of a month.")
class InvoicesIssueInput:
    month: dt.date = strawberry.field(description="Any day of the coverage month.")


@strawberry.input(description="Void a draft.")
class InvoiceVoidInput:
    id: relay.GlobalID = strawberry.field(description="The invoice's `id`.")
    reason: str = strawberry.field(description="Why (kept on the invoice and in the audit log).")


def _errors(problems: list[Problem]) -> list[InvoiceDecisionUserError]:
    return user_errors(InvoiceDecisionUserError, InvoiceDecisionErrorCode, problems)


async def _issue_one(info: strawberry.Info, invoice_id: int) -> models.Invoice:
    ctx = info.context
    invoice = await invoices.locked_invoice(ctx.session, invoice_id)
    return await invoices.issue(
        ctx.session, invoice, user_id=ctx.principal.user_id, audit=ctx.audit, now=utc_now(),
        carrier=ctx.settings.carrier_name,
        cipher=bank_cipher(info),
    )  # fmt: skip


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="Issue a DRAFT invoice (rep:billing): checked (rates in force, total, "
        "nobody billed twice), entered in the ledger (credit is applied to it) and emailed "
        "to the group's billing contacts. Issued invoices never change.",
        extensions=requires(REP_BILLING),
    )
    async def invoice_issue(
        self,
        info: strawberry.Info,
        input: Annotated[InvoiceIssueInput, strawberry.argument(description="The draft.")],
    ) -> InvoiceDecisionPayload:
        try:
            invoice = await _issue_one(info, pk_of(input.id, "Invoice"))
        except RuleViolation as refused:
            await discard(info)
            return InvoiceDecisionPayload(invoice=None, user_errors=_errors(refused.problems))
        await commit(info, "invoice.issue", target_type="Invoice", target_id=str(invoice.id))
        return InvoiceDecisionPayload(invoice=Invoice.from_row(invoice), user_errors=[])

    @strawberry.mutation(
        description="Issue every DRAFT invoice of a month (rep:billing), each on its own: a "
        "draft that cannot be issued stays DRAFT and is listed with what to fix.",
        extensions=requires(REP_BILLING),
    )
    async def invoices_issue(
        self,
        info: strawberry.Info,
        input: Annotated[InvoicesIssueInput, strawberry.argument(description="The month.")],
    ) -> InvoicesIssuePayload:
        session, month = info.context.session, input.month.replace(day=1)
        issued, refused = [], []
        for invoice_id in await invoices.drafts_of(session, month):
            try:
                async with session.begin_nested():
                    issued.append(Invoice.from_row(await _issue_one(info, invoice_id)))
            except RuleViolation as problem:
                draft = await invoices.locked_invoice(session, invoice_id)
                refused.append(InvoiceRefusal(invoice=Invoice.from_row(draft),
                                              user_errors=_errors(problem.problems)))  # fmt: skip
        changes = {"month": month.isoformat(), "issued": len(issued), "refused": len(refused)}
        await commit(info, "invoice.issueMonth", target_type="InvoiceMonth",
                     target_id=month.isoformat(), changes=changes)  # fmt: skip
        return InvoicesIssuePayload(issued=issued, refused=refused)

    @strawberry.mutation(
        description="Void an invoice with a reason (rep:billing). A draft is simply voided "
        "(running its month again builds a new one); an issued invoice is taken out of the "
        "ledger: the payments it holds pay other invoices or stay as credit, and the next "
        "run bills its months again as retro lines.",
        extensions=requires(REP_BILLING),
    )
    async def invoice_void(
        self,
        info: strawberry.Info,
        input: Annotated[InvoiceVoidInput, strawberry.argument(description="The draft.")],
    ) -> InvoiceDecisionPayload:
        session, reason = info.context.session, input.reason.strip()
        try:
            invoice = await invoices.locked_invoice(session, pk_of(input.id, "Invoice"))
            user_id, audit = info.context.principal.user_id, info.context.audit
            await invoices.void(
                session, invoice, reason=reason, now=utc_now(), user_id=user_id, audit=audit
            )
        except RuleViolation as refused:
            await discard(info)
            return InvoiceDecisionPayload(invoice=None, user_errors=_errors(refused.problems))
        await commit(info, "invoice.void", target_type="Invoice", target_id=str(invoice.id),
                     changes={"reason": reason})  # fmt: skip
        return InvoiceDecisionPayload(invoice=Invoice.from_row(invoice), user_errors=[])
