"""Other coverage and the computed COB order (SPEC §2 COB): types and ``Member`` fields."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from api.schema.nodes import load_nodes
from api.services import cob as service
from api.services.cob import CobRule, Payer, PlanFacts
from db import models
from db.models import Relationship
from db.queries.member_records import MemberRecord
from db.queries.members import CoverageRow

strawberry.enum(Payer, description="THIS_CARRIER: coverage here. OTHER: another carrier's.")
strawberry.enum(
    CobRule,
    description="Why a payer has its place: ONLY_COVERAGE (nothing to coordinate), "
    "SUBSCRIBER_OWN_PLAN (the member's own plan pays before one where they are a "
    "dependent), BIRTHDAY_RULE (the parent whose month and day of birth come first in the "
    "year), LONGER_COVERAGE (same birthday: the plan that has covered its holder longer), "
    "UNDETERMINED (dates missing or tied; this carrier listed first).",
)


@strawberry.type(description="A member's coverage with another carrier, for COB.")
class OtherCoverage(relay.Node):
    pk: relay.NodeID[int]
    carrier_name: str = strawberry.field(description="The other carrier.")
    policy_number: str = strawberry.field(description="Policy (subscriber) number there.")
    group_number: str | None = strawberry.field(description="Group number there, if any.")
    policy_holder_name: str = strawberry.field(description="Who holds the policy.")
    policy_holder_birth_date: dt.date | None = strawberry.field(
        description="The policy holder's date of birth (for the birthday rule)."
    )
    policy_holder_since: dt.date | None = strawberry.field(
        description="Since when the policy has covered its holder (for ties)."
    )
    effective_date: dt.date = strawberry.field(description="First day it covers the member.")
    termination_date: dt.date | None = strawberry.field(
        description="Last day it covers the member; null while open-ended."
    )

    @classmethod
    def from_row(cls, row: models.OtherCoverage) -> Self:
        return cls(
            pk=row.id,
            carrier_name=row.carrier_name,
            policy_number=row.policy_number,
            group_number=row.group_number,
            policy_holder_name=row.policy_holder_name,
            policy_holder_birth_date=row.policy_holder_birth_date,
            policy_holder_since=row.policy_holder_since,
            effective_date=row.effective_date,
            termination_date=row.termination_date,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.other_coverage, cls.from_row)


@strawberry.type(description="One payer in coordination-of-benefits order.")
class CobEntry:
    payer: Payer = strawberry.field(description="This carrier or another.")
    carrier_name: str = strawberry.field(description="The paying carrier's name.")
    order: int = strawberry.field(description="1 pays first (primary), 2 next, and so on.")
    rule: CobRule = strawberry.field(description="The rule that put this payer here.")
    other_coverage: OtherCoverage | None = strawberry.field(
        description="The other coverage, for payer OTHER."
    )


async def other_coverages_of(info: strawberry.Info, member_pk: int) -> list[OtherCoverage]:
    """``Member.otherCoverages``, oldest first."""
    rows = await info.context.loaders.other_coverages.load(member_pk)
    return [OtherCoverage.from_row(row) for row in rows]


def _this_plan(
    info: strawberry.Info, record: MemberRecord, spans: list[CoverageRow], on: dt.date
) -> PlanFacts | None:
    if not any(_covers(row.coverage, on) for row in spans):
        return None
    return PlanFacts(
        carrier_name=info.context.settings.carrier_name,
        member_is_holder=record.member.relationship is Relationship.SUBSCRIBER,
        holder_birth_date=record.holder_birth_date,
        holder_since=record.holder_since,
    )


def _covers(coverage: models.Coverage, on: dt.date) -> bool:
    end = coverage.termination_date
    return coverage.effective_date <= on and (end is None or on <= end)


def _other_plan(member: models.Member, row: models.OtherCoverage) -> PlanFacts:
    holder = service.holds_policy(
        first_name=member.first_name,
        last_name=member.last_name,
        birth_date=member.date_of_birth,
        other=row,
    )
    return PlanFacts(
        carrier_name=row.carrier_name,
        member_is_holder=holder,
        holder_birth_date=row.policy_holder_birth_date,
        holder_since=row.policy_holder_since,
        other_coverage_id=row.id,
    )


async def cob_order_of(info: strawberry.Info, member_pk: int, on: dt.date) -> list[CobEntry]:
    """``Member.cobOrder``: the payers on ``on`` in order (SPEC §2 COB rules)."""
    loaders = info.context.loaders
    record, others, spans = await asyncio.gather(
        loaders.member_record.load(member_pk),
        loaders.other_coverages.load(member_pk),
        loaders.coverages.load(member_pk),
    )
    if record is None:
        return []
    rows = [row for row in others if service.is_active(row, on)]
    by_id = {row.id: row for row in rows}
    this_plan = _this_plan(info, record, spans, on)
    entries = service.cob_order(this_plan, [_other_plan(record.member, row) for row in rows])
    return [
        CobEntry(
            payer=entry.payer,
            carrier_name=entry.carrier_name,
            order=entry.order,
            rule=entry.rule,
            other_coverage=(
                OtherCoverage.from_row(by_id[entry.other_coverage_id])
                if entry.other_coverage_id is not None
                else None
            ),
        )
        for entry in entries
    ]
