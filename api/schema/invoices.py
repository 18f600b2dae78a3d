"""Invoices in the API (SPEC §2 Billing): the stored invoices of a group with their lines,
and the upcoming invoice computed live from today's eligibility."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import BILLING_READ
from api.schema.connections import CountedConnection, build_connection
from api.schema.enums import CoverageTier
from api.schema.money import Money
from api.schema.nodes import load_nodes
from api.services.billing_run import BILLED_STATUSES, Line
from api.services.dates import today
from api.services.eligibility.premium_effect import next_invoice_month
from db import models
from db.models import BillingMode, InvoiceLineKind, InvoiceStatus
from db.queries.billing import BilledMember, LineRow, PlanLabel, invoice_number
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.groups import Group

strawberry.enum(
    InvoiceStatus,
    description="DRAFT (built by a billing run, not yet issued; seen by representatives "
    "only) → ISSUED → PARTIALLY_PAID → PAID, or VOID (by a representative, with a reason).",
)
strawberry.enum(
    InvoiceLineKind,
    description="PREMIUM: a subscriber's premium for the invoice's month. RETRO: what an "
    "earlier month should have cost under today's eligibility minus what was billed for it.",
)

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]


@strawberry.type(description="The member an invoice line bills: ID and name only.")
class InvoiceLineMember:
    member_id: str = strawberry.field(description="The carrier member ID.")
    name: str = strawberry.field(description="First and last name.")


@strawberry.type(description="One amount of an invoice, with where it comes from.")
class InvoiceLine:
    member: InvoiceLineMember = strawberry.field(description="The subscriber billed.")
    plan_code: str = strawberry.field(description="The plan's code.")
    plan_name: str = strawberry.field(description="The plan's name.")
    tier: CoverageTier = strawberry.field(description="The coverage tier billed.")
    service_month: dt.date = strawberry.field(
        description="The coverage month the amount is for (its 1st); earlier than the "
        "invoice's month on a RETRO line."
    )
    kind: InvoiceLineKind = strawberry.field(description="PREMIUM or RETRO.")
    rate: Money | None = strawberry.field(
        description="The monthly rate in force on the 1st of `serviceMonth` at `tier`; null "
        "when no rate applies (a retro credit for a month no longer covered, or no rate "
        "schedule in force)."
    )
    amount: Money = strawberry.field(description="The amount billed; negative is a credit.")
    explanation: str = strawberry.field(
        description="Plain English: the rate schedule, tier and months behind the amount."
    )

    @classmethod
    def from_row(cls, row: LineRow) -> Self:
        return cls(
            member=_member(row.member_id, row.first_name, row.last_name),
            plan_code=row.plan_code, plan_name=row.plan_name, tier=row.tier,
            service_month=row.service_month, kind=row.kind, rate=_money(row.rate_cents),
            amount=Money.from_cents(row.amount_cents), explanation=row.explanation,
        )  # fmt: skip


def _member(member_id: str, first_name: str, last_name: str) -> InvoiceLineMember:
    return InvoiceLineMember(member_id=member_id, name=f"{first_name} {last_name}")


def _money(cents: int | None) -> Money | None:
    return None if cents is None else Money.from_cents(cents)


def invoice_pdf_path(pk: int) -> str:
    return f"/documents/invoices/{pk}.pdf"


@strawberry.type(description="A group's bill for one coverage month.")
class Invoice(relay.Node):
    pk: relay.NodeID[int]
    group_pk: strawberry.Private[int]
    invoice_number: str = strawberry.field(
        description="The number printed on the invoice and its remittance stub."
    )
    month: dt.date = strawberry.field(description="The coverage month billed (its 1st).")
    status: InvoiceStatus = strawberry.field(description="Where the invoice is.")
    due_date: dt.date = strawberry.field(description="When payment is due.")
    total: Money = strawberry.field(description="The sum of the lines.")
    issued_at: dt.datetime | None = strawberry.field(description="When it was issued (UTC).")
    voided_at: dt.datetime | None = strawberry.field(description="When it was voided (UTC).")
    void_reason: str | None = strawberry.field(description="Why a representative voided it.")
    pdf_path: str = strawberry.field(
        description="Path of the invoice as a PDF (GET with the bearer token)."
    )

    @classmethod
    def from_row(cls, row: models.Invoice) -> Self:
        return cls(
            pk=row.id, group_pk=row.group_id, invoice_number=invoice_number(row.id),
            month=row.month, status=row.status, due_date=row.due_date,
            total=Money.from_cents(row.total_cents), issued_at=row.issued_at,
            voided_at=row.voided_at, void_reason=row.void_reason,
            pdf_path=invoice_pdf_path(row.id),
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.invoice, cls.from_row)

    @strawberry.field(description="The group billed.")
    async def group(self, info: strawberry.Info) -> GroupRef | None:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        return None if row is None else Group.from_row(row)

    @strawberry.field(
        description="Every line, by plan code, kind (premium first), member ID and month. "
        "An invoice has at most a few thousand lines.",
        extensions=requires(BILLING_READ),
    )
    async def lines(self, info: strawberry.Info) -> list[InvoiceLine]:
        rows = await info.context.loaders.invoice_lines.load(self.pk)
        return [InvoiceLine.from_row(row) for row in rows]

    @strawberry.field(
        description="What payments have applied to it, net of returned payments (0 until "
        "it is issued)."
    )
    async def amount_paid(self, info: strawberry.Info) -> Money:
        money = await info.context.loaders.invoice_money.load(self.pk)
        return Money.from_cents(0 if money is None else money.paid)

    @strawberry.field(
        description="What is still open on it: its total less write-offs and payments "
        "applied (0 until it is issued, and once paid)."
    )
    async def amount_due(self, info: strawberry.Info) -> Money:
        money = await info.context.loaders.invoice_money.load(self.pk)
        return Money.from_cents(0 if money is None else money.open)


@strawberry.type(description="A page of a group's invoices, newest month first.")
class InvoiceConnection(CountedConnection[Invoice]):
    pass


async def group_invoices(
    info: strawberry.Info,
    *,
    group_pk: int,
    first: int,
    after: str | None,
    statuses: Sequence[InvoiceStatus] | None,
) -> InvoiceConnection:
    """``Group.invoices``, batched across the groups of a page."""
    loaders, wanted = info.context.loaders, tuple(statuses or ())
    page = await loaders.invoice_pages(wanted, PageRequest(first, after)).load(group_pk)

    async def count() -> int:
        return int(await loaders.invoice_counts(wanted).load(group_pk))

    return build_connection(InvoiceConnection, page, Invoice.from_row, count)


@strawberry.type(
    description="The next month's invoice as today's eligibility makes it, with the retro "
    "adjustments it would carry; computed live, never stored."
)
class UpcomingInvoice:
    month: dt.date = strawberry.field(description="The coverage month (its 1st).")
    due_date: dt.date = strawberry.field(description="When it will be due (the month's 1st).")
    total: Money = strawberry.field(description="The sum of the lines.")
    lines: list[InvoiceLine] = strawberry.field(
        description="Premium and retro lines, by plan code, kind, member ID and month."
    )


async def upcoming_invoice(info: strawberry.Info, group: Group) -> UpcomingInvoice | None:
    """The invoice the next billing run would build for the group (``build_lines``), the
    groups of a page computed together."""
    month = next_invoice_month(today())
    billed = group.billing_mode is BillingMode.LIST_BILL and group.status in BILLED_STATUSES
    if not billed or group.effective_date > month:
        return None
    built = await info.context.loaders.upcoming_lines.load(group.pk)
    if not built:
        return None
    loaders = info.context.loaders
    members = await loaders.billed_member.load_many([line.member_id for line in built])
    plans = await loaders.plan_label.load_many([line.group_plan_id for line in built])
    lines = sorted(
        (_upcoming_line(line, m, p) for line, m, p in zip(built, members, plans, strict=True)),
        key=lambda line: (line.plan_code, line.kind, line.member.member_id, line.service_month),
    )
    total = sum(line.amount_cents for line in built)
    return UpcomingInvoice(month=month, due_date=month, total=Money.from_cents(total), lines=lines)


def _upcoming_line(line: Line, member: BilledMember | None, plan: PlanLabel | None) -> InvoiceLine:
    # The group's billing is visible (the field's gate), so are its members and plans.
    if member is None or plan is None:
        raise LookupError(f"member {line.member_id} or plan {line.group_plan_id} not visible")
    who = _member(member.member_id, member.first_name, member.last_name)
    return InvoiceLine(
        member=who, plan_code=plan.code, plan_name=plan.name,
        tier=models.CoverageTier(line.tier), service_month=line.service_month, kind=line.kind,
        rate=_money(line.rate_cents), amount=Money.from_cents(line.amount_cents),
        explanation=line.explanation,
    )  # fmt: skip
