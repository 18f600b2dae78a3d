"""Self-billed remittances in the API (SPEC §2 Billing: "Self-billed groups"; issue 7):
the ``Remittance`` node, ``remittanceSubmit`` (billing:write; a benefit leader needs
billing MANAGE), ``remittanceResolve`` (rep:billing), the representatives' exception queue
and ``Group.remittances``. The rules and the ledger postings are
``api.services.remittances``.

The mutations are ``api.schema.remittance_mutations``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import BILLING_READ
from api.schema.connections import CountedConnection, build_connection
from api.schema.enums import CoverageTier
from api.schema.invoices import Invoice
from api.schema.money import Money
from api.schema.nodes import load_nodes
from api.services.remittance_rules import MAX_LINES
from db import models
from db.models import (
    RemittanceDecision,
    RemittanceDifferenceKind,
    RemittanceSource,
    RemittanceStatus,
)
from db.queries import remittances as queries
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.groups import Group

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]

strawberry.enum(
    RemittanceStatus,
    description="ACCEPTED (within the threshold, or accepted by a representative: posted "
    "to the ledger), EXCEPTION (beyond the threshold: waiting for a representative), "
    "REJECTED (refused by a representative, see `resolution`: submit the month again) or "
    "SUPERSEDED (an exception the group replaced with a new submission).",
)
strawberry.enum(
    RemittanceDecision,
    description="ACCEPT: post it (invoice at the expected premium and the true-up). "
    "REJECT: post nothing; the group sees the reason and may submit again.",
)
strawberry.enum(RemittanceSource, description="LINES: sent as `lines`. CSV: sent as `csv`.")
strawberry.enum(
    RemittanceDifferenceKind,
    description="REMITTED_NOT_ENROLLED: a line for someone who is not a covered subscriber "
    "on the 1st. ENROLLED_NOT_REMITTED: a covered subscriber without a line. PLAN_MISMATCH, "
    "TIER_MISMATCH: the line's plan or tier is not the enrolled one. RATE_MISMATCH: plan and "
    "tier right, but the amount is not the rate in force on the 1st.",
)


@strawberry.type(description="One line of a remittance's roster, as the group sent it.")
class RemittanceLine:
    position: int = strawberry.field(description="Line number: input index + 1, or CSV line.")
    member_id: str = strawberry.field(description="The carrier member ID written.")
    plan_code: str = strawberry.field(description="The plan code written.")
    tier: CoverageTier = strawberry.field(description="The tier written.")
    amount: Money = strawberry.field(description="The amount remitted for the member.")

    @classmethod
    def from_row(cls, row: models.RemittanceLine) -> Self:
        return cls(position=row.position, member_id=row.member_number, plan_code=row.plan_code,
                   tier=row.tier, amount=Money.from_cents(row.amount_cents))  # fmt: skip


@strawberry.type(description="How one member's remittance differs from eligibility on the 1st.")
class RemittanceDifference:
    kind: RemittanceDifferenceKind = strawberry.field(description="What differs.")
    member_id: str = strawberry.field(description="The carrier member ID.")
    expected_plan_code: str | None = strawberry.field(description="Enrolled plan (if any).")
    expected_tier: CoverageTier | None = strawberry.field(description="Enrolled tier (if any).")
    expected: Money = strawberry.field(description="The premium eligibility says (0: none).")
    remitted_plan_code: str | None = strawberry.field(description="Plan on the line (if any).")
    remitted_tier: CoverageTier | None = strawberry.field(description="Tier on the line (if any).")
    remitted: Money = strawberry.field(description="The amount remitted (0: no line).")
    difference: Money = strawberry.field(description="Remitted minus expected.")
    message: str = strawberry.field(description="What differs and what to do, in plain words.")

    @classmethod
    def from_row(cls, row: models.RemittanceDifference) -> Self:
        return cls(
            kind=row.kind, member_id=row.member_number,
            expected_plan_code=row.expected_plan_code, expected_tier=row.expected_tier,
            expected=Money.from_cents(row.expected_cents),
            remitted_plan_code=row.remitted_plan_code, remitted_tier=row.remitted_tier,
            remitted=Money.from_cents(row.remitted_cents),
            difference=Money.from_cents(row.remitted_cents - row.expected_cents),
            message=row.message,
        )  # fmt: skip


@strawberry.type(description="A representative's decision on a remittance exception.")
class RemittanceResolution:
    decision: RemittanceDecision = strawberry.field(description="ACCEPT or REJECT.")
    reason: str = strawberry.field(
        description="Why it was accepted, or the message to the group for a rejection."
    )
    resolved_at: dt.datetime = strawberry.field(description="When it was decided (UTC).")


@strawberry.type(description="What a self-billed group remitted for a month, against what "
                 "its eligibility expected.")  # fmt: skip
class Remittance(relay.Node):
    pk: relay.NodeID[int]
    group_pk: strawberry.Private[int]
    invoice_pk: strawberry.Private[int | None]
    supersedes_pk: strawberry.Private[int | None]
    month: dt.date = strawberry.field(description="The coverage month remitted (its 1st).")
    status: RemittanceStatus = strawberry.field(description="Where the remittance is.")
    source: RemittanceSource = strawberry.field(description="How the roster was sent.")
    amount: Money = strawberry.field(description="What the group remitted (sum of the lines).")
    expected: Money = strawberry.field(
        description="The month's premium under eligibility on the 1st, when submitted."
    )
    variance: Money = strawberry.field(description="Amount minus expected (negative: short).")
    threshold: Money = strawberry.field(
        description="The exception threshold applied: the larger of the group's floor ($25 "
        "by default) and its percentage (2 % by default) of `expected`."
    )
    within_threshold: bool = strawberry.field(description="|variance| ≤ threshold.")
    submitted_at: dt.datetime = strawberry.field(description="When it was submitted (UTC).")
    superseded_at: dt.datetime | None = strawberry.field(
        description="When the group replaced this exception with a new submission."
    )
    resolution: RemittanceResolution | None = strawberry.field(
        description="A representative's decision; null when accepted within the threshold, "
        "waiting, or superseded."
    )

    @classmethod
    def from_row(cls, row: models.Remittance) -> Self:
        resolution = None
        if row.decision is not None and row.resolved_at is not None:
            resolution = RemittanceResolution(decision=row.decision,
                                              reason=row.resolution_reason or "",
                                              resolved_at=row.resolved_at)  # fmt: skip
        return cls(
            pk=row.id, group_pk=row.group_id, invoice_pk=row.invoice_id,
            supersedes_pk=row.supersedes_id, month=row.month, status=row.status,
            source=row.source, amount=Money.from_cents(row.amount_cents),
            expected=Money.from_cents(row.expected_cents),
            variance=Money.from_cents(row.variance_cents),
            threshold=Money.from_cents(row.threshold_cents),
            within_threshold=abs(row.variance_cents) <= row.threshold_cents,
            submitted_at=row.created_at, superseded_at=row.superseded_at, resolution=resolution,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.remittance, cls.from_row)

    @strawberry.field(description="The group that remitted.")
    async def group(self, info: strawberry.Info) -> GroupRef | None:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        return None if row is None else Group.from_row(row)

    @strawberry.field(
        description=f"The roster as sent, in line order (at most {MAX_LINES} lines).",
        extensions=requires(BILLING_READ),
    )
    async def lines(self, info: strawberry.Info) -> list[RemittanceLine]:
        rows = await info.context.loaders.remittance_lines.load(self.pk)
        return [RemittanceLine.from_row(row) for row in rows]

    @strawberry.field(
        description="Member by member, how the roster differs from eligibility: roster "
        "lines first, in line order, then enrolled subscribers not remitted. The "
        "differences add up to `variance`.",
        extensions=requires(BILLING_READ),
    )
    async def differences(self, info: strawberry.Info) -> list[RemittanceDifference]:
        rows = await info.context.loaders.remittance_differences.load(self.pk)
        return [RemittanceDifference.from_row(row) for row in rows]

    @strawberry.field(
        description="The month's invoice at the expected premium, once accepted (the true-up "
        "is on the group's ledger)."
    )
    async def invoice(self, info: strawberry.Info) -> Invoice | None:
        if self.invoice_pk is None:
            return None
        row = await info.context.loaders.invoice.load(self.invoice_pk)
        return None if row is None else Invoice.from_row(row)

    @strawberry.field(description="The exception this submission replaced, if any.")
    async def supersedes(self, info: strawberry.Info) -> Remittance | None:
        if self.supersedes_pk is None:
            return None
        row = await info.context.loaders.remittance.load(self.supersedes_pk)
        return None if row is None else Remittance.from_row(row)

    @strawberry.field(description="The submission that replaced this exception, if any.")
    async def superseded_by(self, info: strawberry.Info) -> Remittance | None:
        if self.status is not RemittanceStatus.SUPERSEDED:
            return None
        row = await info.context.loaders.remittance_superseding.load(self.pk)
        return None if row is None else Remittance.from_row(row)


@strawberry.type(description="A page of remittances.")
class RemittanceConnection(CountedConnection[Remittance]):
    pass


async def group_remittances(
    info: strawberry.Info, *, group_pk: int, first: int, after: str | None
) -> RemittanceConnection:
    """``Group.remittances``, batched across the groups of a page."""
    loaders = info.context.loaders
    found = await loaders.remittance_pages(PageRequest(first, after)).load(group_pk)

    async def count() -> int:
        return int(await loaders.remittance_counts.load(group_pk))

    return build_connection(RemittanceConnection, found, Remittance.from_row, count)


async def resolve_remittance_exceptions(
    info: strawberry.Info, first: int, after: str | None
) -> RemittanceConnection:
    """The representatives' queue of remittance exceptions, oldest first."""
    ctx = info.context
    page = await queries.exceptions_page(ctx.session, ctx.principal, PageRequest(first, after))

    async def count() -> int:
        return await queries.count_exceptions(ctx.session, ctx.principal)

    return build_connection(RemittanceConnection, page, Remittance.from_row, count)
