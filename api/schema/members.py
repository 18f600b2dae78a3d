"""Members and their coverage (SPEC §2 Members and coverage)."""

from __future__ import annotations

import datetime as dt
import enum
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
from api.services.coverage_on import age_on, span_on
from api.services.dates import today
from db import models
from db.queries.members import CoverageRow

if TYPE_CHECKING:
    from api.schema.cob import CobEntry, OtherCoverage
    from api.schema.dual_coverage import DualCoverage
    from api.schema.groups import Group
    from api.schema.id_cards import IdCardRequest


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
    merged_into_pk: strawberry.Private[int | None]
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
            merged_into_pk=row.merged_into_id,
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

    @strawberry.field(
        description="For a MERGED duplicate, the surviving record its history moved to; "
        "null otherwise."
    )
    async def merged_into(self, info: strawberry.Info) -> Member | None:
        if self.merged_into_pk is None:
            return None
        row = await info.context.loaders.member.load(self.merged_into_pk)
        return None if row is None else Member.from_row(row)

    @strawberry.field(
        description="The coverage span in force today (UTC), or null when none is.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def current_coverage(self, info: strawberry.Info) -> Coverage | None:
        rows = await info.context.loaders.coverages.load(self.pk)
        row = span_on(rows, today())
        return None if row is None else Coverage.from_row(row)

    @strawberry.field(description="Age in completed years on a day (default today).")
    def age(
        self,
        on: Annotated[
            dt.date | None, strawberry.argument(description="The day; default today (UTC).")
        ] = None,
    ) -> int:
        return age_on(self.date_of_birth, on or today())

    @strawberry.field(description="The group the member belongs to.")
    async def group(
        self, info: strawberry.Info
    ) -> Annotated[Group, strawberry.lazy("api.schema.groups")]:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        if row is None:  # the member was loaded in scope, so its group is too
            raise LookupError(f"group {self.group_pk} of member {self.pk} is not visible")
        return Group.from_row(row)

    # --- ID cards, COB and dual coverage (api.schema.id_cards, api.schema.cob) ---

    @strawberry.field(
        description="The member's ID-card requests, newest first.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def id_card_requests(
        self, info: strawberry.Info
    ) -> list[Annotated[IdCardRequest, strawberry.lazy("api.schema.id_cards")]]:
        from api.schema.id_cards import requests_of

        return await requests_of(info, self.pk)

    @strawberry.field(
        description="The member's coverage with other carriers (COB), oldest first.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def other_coverages(
        self, info: strawberry.Info
    ) -> list[Annotated[OtherCoverage, strawberry.lazy("api.schema.cob")]]:
        from api.schema.cob import other_coverages_of

        return await other_coverages_of(info, self.pk)

    @strawberry.field(
        description="Who pays first on a day: this carrier and the member's other coverage "
        "in coordination-of-benefits order (SPEC COB rules).",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def cob_order(
        self,
        info: strawberry.Info,
        on: Annotated[dt.date, strawberry.argument(description="The day (a claim's date).")],
    ) -> list[Annotated[CobEntry, strawberry.lazy("api.schema.cob")]]:
        from api.schema.cob import cob_order_of

        return await cob_order_of(info, self.pk, on)

    @strawberry.field(
        description="Confirmed links to this person's (or spouse's) other member record with "
        "this carrier, each with which record pays first.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def dual_coverage(
        self, info: strawberry.Info
    ) -> list[Annotated[DualCoverage, strawberry.lazy("api.schema.dual_coverage")]]:
        from api.schema.dual_coverage import dual_coverage_of

        return await dual_coverage_of(info, self.pk)


@strawberry.input(description="Narrow the member list; all conditions must hold.")
class MemberFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Digits: a member ID prefix, and exactly 4 digits also the last 4 of the "
        "SSN (`ssnLast4`; anyone who may read the roster may see it, so may search by it). "
        "Words: each must start the first or last name, case-insensitive.",
    )
    status: list[MemberStatus] | None = strawberry.field(
        default=None, description="Only members in one of these statuses."
    )
    relationship: list[Relationship] | None = strawberry.field(
        default=None, description="Only members with one of these relationships."
    )
    plan_code: list[str] | None = strawberry.field(
        default=None,
        description="Only members whose span in force on `coveredOn` (default today) is "
        "under one of these plan codes. At most 100.",
    )
    tier: list[CoverageTier] | None = strawberry.field(
        default=None,
        description="Only members whose span in force on `coveredOn` (default today) is at "
        "one of these tiers.",
    )
    covered_on: dt.date | None = strawberry.field(
        default=None,
        description="Only members with a coverage span covering this day (both ends "
        "included); also the day `planCode` and `tier` look at.",
    )


@strawberry.enum(description="What the member list is sorted by.")
class MemberSortField(enum.Enum):
    NAME = strawberry.enum_value("NAME", description="Last name, then first name (ties by record).")
    MEMBER_ID = strawberry.enum_value("MEMBER_ID", description="Carrier member ID.")
    DATE_OF_BIRTH = strawberry.enum_value(
        "DATE_OF_BIRTH", description="Date of birth, oldest first when ascending."
    )


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest (A, 0, earliest) first.")
    DESC = strawberry.enum_value("DESC", description="Largest (Z, 9, latest) first.")


@strawberry.input(
    description="The member list's order. Cursors belong to one order: a cursor from "
    "another order is refused."
)
class MemberOrder:
    field: MemberSortField = strawberry.field(
        default=MemberSortField.NAME, description="The sort key."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="Ascending or descending."
    )


@strawberry.type(description="A page of members.")
class MemberConnection(CountedConnection[Member]):
    pass
