"""Members and their coverage (SPEC §2 Members and coverage)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import ELIGIBILITY_READ
from api.schema.common import Address, address_or_none
from api.schema.connections import CountedConnection
from api.schema.enums import CoverageTier, MemberStatus, Relationship, Sex
from api.schema.nodes import load_nodes
from api.schema.plans import Plan
from db import models
from db.queries.members import CoverageRow

if TYPE_CHECKING:
    from api.schema.groups import Group


@strawberry.type(description="One span of a member's coverage under a plan at a tier.")
class Coverage:
    plan: Plan = strawberry.field(description="The plan covering the member.")
    tier: CoverageTier = strawberry.field(
        description="The subscriber's tier over this span (dependents carry their family's)."
    )
    effective_date: dt.date = strawberry.field(description="First covered day.")
    termination_date: dt.date | None = strawberry.field(
        description="Last covered day; null while coverage is open-ended."
    )

    @classmethod
    def from_row(cls, row: CoverageRow) -> Self:
        return cls(
            plan=Plan.from_row(row.plan),
            tier=row.coverage.tier,
            effective_date=row.coverage.effective_date,
            termination_date=row.coverage.termination_date,
        )


@strawberry.type(description="A subscriber (an employee) or one of their dependents.")
class Member(relay.Node):
    pk: relay.NodeID[int]
    group_pk: strawberry.Private[int]
    subscriber_pk: strawberry.Private[int | None]
    member_id: str = strawberry.field(
        description="Carrier member ID: subscriber number plus a 2-digit suffix "
        "(`00` the subscriber, `01`… dependents)."
    )
    relationship: Relationship = strawberry.field(description="Relationship to the subscriber.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    date_of_birth: dt.date = strawberry.field(description="Date of birth.")
    sex: Sex = strawberry.field(description="Sex as recorded for eligibility.")
    status: MemberStatus = strawberry.field(description="Whether the member is still covered.")
    ssn_last4: str | None = strawberry.field(
        description="Last four digits of the SSN, when one is on file. The full SSN is "
        "write-only and never returned."
    )
    address: Address | None = strawberry.field(description="Home address, when on file.")

    @classmethod
    def from_row(cls, row: models.Member) -> Self:
        return cls(
            pk=row.id,
            group_pk=row.group_id,
            subscriber_pk=row.subscriber_id,
            member_id=row.member_id,
            relationship=row.relationship,
            first_name=row.first_name,
            last_name=row.last_name,
            date_of_birth=row.date_of_birth,
            sex=row.sex,
            status=row.status,
            ssn_last4=row.ssn_last4,
            address=address_or_none(
                row.address_line1, row.address_line2, row.city, row.state, row.postal_code
            ),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        members = await load_nodes(node_ids, info.context.loaders.member, cls.from_row)
        for member in members:
            if member is not None:
                info.context.audit.record(
                    "member.read", target_type="Member", target_id=member.member_id
                )
        return members

    @strawberry.field(
        description="The subscriber's dependents; empty for a dependent.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def dependents(self, info: strawberry.Info) -> list[Member]:
        if self.subscriber_pk is not None:
            return []
        rows = await info.context.loaders.dependents.load(self.pk)
        return [Member.from_row(row) for row in rows]

    @strawberry.field(description="For a dependent, the subscriber; null for a subscriber.")
    async def subscriber(self, info: strawberry.Info) -> Member | None:
        if self.subscriber_pk is None:
            return None
        row = await info.context.loaders.member.load(self.subscriber_pk)
        return None if row is None else Member.from_row(row)

    @strawberry.field(
        description="Full coverage history, oldest span first.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def coverages(self, info: strawberry.Info) -> list[Coverage]:
        rows = await info.context.loaders.coverages.load(self.pk)
        return [Coverage.from_row(row) for row in rows]

    @strawberry.field(description="The group the member belongs to.")
    async def group(
        self, info: strawberry.Info
    ) -> Annotated[Group, strawberry.lazy("api.schema.groups")]:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        if row is None:  # the member was loaded in scope, so its group is too
            raise LookupError(f"group {self.group_pk} of member {self.pk} is not visible")
        return Group.from_row(row)


@strawberry.input(description="Narrow the member list; all conditions must hold.")
class MemberFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Digits: a member ID prefix. Words: each must start the first or last "
        "name, case-insensitive.",
    )
    status: list[MemberStatus] | None = strawberry.field(
        default=None, description="Only members in one of these statuses."
    )
    relationship: list[Relationship] | None = strawberry.field(
        default=None, description="Only members with one of these relationships."
    )


@strawberry.type(description="A page of members.")
class MemberConnection(CountedConnection[Member]):
    pass
