"""Premium rate schedules (SPEC §2 Premium rates): the types, the reads and
``rateScheduleCreate``."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import GROUP_READ, REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.connections import CountedConnection, build_connection
from api.schema.enums import CoverageTier
from api.schema.lookups import visible_group
from api.schema.money import Money
from api.schema.nodes import load_nodes
from api.schema.plans import Plan
from api.schema.user_errors import UserError, user_errors
from api.services import rates as service
from api.services import rating
from api.services.dates import today
from api.services.rules import RuleViolation
from db import models
from db.queries import rates as queries
from db.queries.paging import PageRequest
from db.queries.rates import ScheduleRow

if TYPE_CHECKING:
    from api.schema.groups import Group


@strawberry.type(description="A span of calendar days, both ends included.")
class Period:
    start: dt.date = strawberry.field(description="First day of the period.")
    end: dt.date | None = strawberry.field(description="Last day; null when open-ended.")


@strawberry.type(description="The monthly premium of one coverage tier.")
class TierRate:
    tier: CoverageTier = strawberry.field(description="The coverage tier.")
    amount: Money = strawberry.field(description="Premium per subscriber per month.")

    @classmethod
    def from_row(cls, row: models.TierRate) -> Self:
        return cls(tier=row.tier, amount=Money.from_cents(row.monthly_premium_cents))


@strawberry.type(
    description="A group's monthly premiums for one plan over a period, per coverage tier. "
    "Never edited once created (an issued invoice may have used it): a correction is a "
    "new schedule."
)
class RateSchedule(relay.Node):
    pk: relay.NodeID[int]
    group_pk: strawberry.Private[int]
    plan: Plan = strawberry.field(description="The plan these rates are for.")
    period: Period = strawberry.field(
        description="When the rates are in force: from a 1st to a last day of a month."
    )
    is_current: bool = strawberry.field(description="Whether the period includes today (UTC).")

    @classmethod
    def from_row(cls, row: ScheduleRow) -> Self:
        schedule = row.schedule
        start, end = schedule.effective_from, schedule.effective_to
        return cls(
            pk=schedule.id,
            group_pk=row.group_id,
            plan=Plan.from_row(row.plan),
            period=Period(start=start, end=end),
            is_current=rating.covers(effective_from=start, effective_to=end, day=today()),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.rate_schedule, cls.from_row)

    @strawberry.field(
        description="The premium of each of the four tiers, EMPLOYEE to FAMILY.",
        extensions=requires(GROUP_READ),
    )
    async def rates(self, info: strawberry.Info) -> list[TierRate]:
        rows = await info.context.loaders.tier_rates.load(self.pk)
        return [TierRate.from_row(row) for row in rows]

    @strawberry.field(description="The group paying these rates.")
    async def group(
        self, info: strawberry.Info
    ) -> Annotated[Group, strawberry.lazy("api.schema.groups")]:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        if row is None:  # the schedule was loaded in scope, so its group is too
            raise LookupError(f"group {self.group_pk} of schedule {self.pk} is not visible")
        return Group.from_row(row)


@strawberry.type(description="A page of rate schedules, newest period first.")
class RateScheduleConnection(CountedConnection[RateSchedule]):
    pass


async def group_schedules(
    info: strawberry.Info, *, group_pk: int, plan_code: str | None, first: int, after: str | None
) -> RateScheduleConnection:
    """A page of a group's schedules, batched across the groups of a page."""
    loaders = info.context.loaders
    page_request = PageRequest(first=first, after=after)
    page = await loaders.schedule_pages(plan_code, page_request).load(group_pk)

    async def count() -> int:
        return int(await loaders.schedule_counts(plan_code).load(group_pk))

    return build_connection(RateScheduleConnection, page, RateSchedule.from_row, count)


async def plan_catalogue(info: strawberry.Info) -> list[Plan]:
    return [Plan.from_row(row) for row in await queries.plan_catalogue(info.context.session)]


async def rate_for(
    info: strawberry.Info, *, group_number: str, plan_code: str, tier: CoverageTier, month: dt.date
) -> Money | None:
    """The premium in force on the 1st of ``month``; null when the group is not visible,
    does not offer the plan, or no schedule covers that day."""
    ctx = info.context
    group_plan_id = await queries.offered_group_plan_id(
        ctx.session, ctx.principal, group_number=group_number, plan_code=plan_code
    )
    if group_plan_id is None:
        return None
    cents = await rating.monthly_rate(
        ctx.session, group_plan_id=group_plan_id, tier=tier, month=month
    )
    return None if cents is None else Money.from_cents(cents)


def _tier_rate_field(tier: str) -> Any:
    """A ``strawberry.field`` for one tier of ``TierRatesInput``."""
    return strawberry.field(
        default=None,
        description=f"Monthly premium of the {tier} tier in USD, whole cents, at least 0. "
        "Required: a missing tier is a RATE_MISSING user error.",
    )


@strawberry.input(description="The monthly premium of each coverage tier; all four are needed.")
class TierRatesInput:
    employee: Decimal | None = _tier_rate_field("EMPLOYEE")
    employee_spouse: Decimal | None = _tier_rate_field("EMPLOYEE_SPOUSE")
    employee_children: Decimal | None = _tier_rate_field("EMPLOYEE_CHILDREN")
    family: Decimal | None = _tier_rate_field("FAMILY")

    def to_service(self) -> dict[models.CoverageTier, Decimal | None]:
        return {
            models.CoverageTier.EMPLOYEE: self.employee,
            models.CoverageTier.EMPLOYEE_SPOUSE: self.employee_spouse,
            models.CoverageTier.EMPLOYEE_CHILDREN: self.employee_children,
            models.CoverageTier.FAMILY: self.family,
        }


@strawberry.input(description="A new rate schedule: one group, one plan, one period.")
class RateScheduleCreateInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    plan_code: str = strawberry.field(description="Code of a plan the group offers.")
    effective_from: dt.date = strawberry.field(description="First day: a 1st of a month.")
    effective_to: dt.date = strawberry.field(
        description="Last day: a last day of a month, usually 12 months on. Must not overlap "
        "another schedule of the same group and plan."
    )
    rates: TierRatesInput = strawberry.field(description="Monthly premium per tier.")

    def to_service(self) -> service.NewSchedule:
        return service.NewSchedule(
            plan_code=self.plan_code,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            rates=self.rates.to_service(),
        )


@strawberry.enum(description="Why rateScheduleCreate refused.")
class RateScheduleCreateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    PLAN_NOT_OFFERED = strawberry.enum_value(
        "PLAN_NOT_OFFERED", description="The group does not offer the plan (groupPlanAdd)."
    )
    EFFECTIVE_FROM_NOT_FIRST_OF_MONTH = strawberry.enum_value(
        "EFFECTIVE_FROM_NOT_FIRST_OF_MONTH", description="effectiveFrom is not a 1st."
    )
    EFFECTIVE_TO_NOT_LAST_OF_MONTH = strawberry.enum_value(
        "EFFECTIVE_TO_NOT_LAST_OF_MONTH", description="effectiveTo is not a last of month."
    )
    PERIOD_REVERSED = strawberry.enum_value(
        "PERIOD_REVERSED", description="effectiveTo is before effectiveFrom."
    )
    PERIOD_OVERLAPS = strawberry.enum_value(
        "PERIOD_OVERLAPS", description="Another schedule of the group plan covers some days."
    )
    RATE_MISSING = strawberry.enum_value("RATE_MISSING", description="A tier has no rate.")
    NEGATIVE_RATE = strawberry.enum_value("NEGATIVE_RATE", description="A rate is below 0.")
    FRACTIONAL_CENTS = strawberry.enum_value(
        "FRACTIONAL_CENTS", description="A rate has fractions of a cent."
    )
    INVALID_RATE = strawberry.enum_value(
        "INVALID_RATE", description="A rate is not a finite amount up to 99999.99."
    )


@strawberry.type(description="A rateScheduleCreate failure.")
class RateScheduleCreateUserError(UserError):
    code: RateScheduleCreateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The created rate schedule, or why not.")
class RateScheduleCreatePayload:
    rate_schedule: RateSchedule | None = strawberry.field(
        description="The new schedule (null when refused)."
    )
    user_errors: list[RateScheduleCreateUserError] = strawberry.field(
        description="Empty on success."
    )


def _audit_changes(row: ScheduleRow, new: service.NewSchedule) -> dict[str, object]:
    return {
        "planCode": row.plan.code,
        "effectiveFrom": new.effective_from.isoformat(),
        "effectiveTo": new.effective_to.isoformat(),
        "rates": {str(tier): str(amount) for tier, amount in new.rates.items()},
    }


@strawberry.type
class RateMutations:
    @strawberry.mutation(
        description="Give a group's plan its monthly premiums for a period (rep:groups). "
        "Schedules are never edited, since an issued invoice may have used one: a correction "
        "is a new schedule for a period that does not overlap, plus adjustments.",
        extensions=requires(REP_GROUPS),
    )
    async def rate_schedule_create(
        self,
        info: strawberry.Info,
        input: Annotated[
            RateScheduleCreateInput, strawberry.argument(description="The new schedule.")
        ],
    ) -> RateScheduleCreatePayload:
        new = input.to_service()
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            schedule, plan = await service.create_schedule(info.context.session, group, new)
        except RuleViolation as refused:
            await discard(info)
            codes = RateScheduleCreateErrorCode
            errors = user_errors(RateScheduleCreateUserError, codes, refused.problems)
            return RateScheduleCreatePayload(rate_schedule=None, user_errors=errors)
        row = ScheduleRow(schedule=schedule, plan=plan, group_id=group.id)
        await commit(
            info,
            "rateSchedule.create",
            target_type="Group",
            target_id=group.group_number,
            changes=_audit_changes(row, new),
        )
        return RateScheduleCreatePayload(rate_schedule=RateSchedule.from_row(row), user_errors=[])
