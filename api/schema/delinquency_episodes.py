"""A group's delinquency in the API: its episodes with the transitions of each (why, on
which day, on what amounts), and a rep's reinstatement of a group terminated for
non-payment (``api.services.delinquency.non_payment``)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import BILLING_READ, REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.enums import DelinquencyStage
from api.schema.lookups import visible_group
from api.schema.money import Money
from api.schema.user_errors import UserError, user_errors
from api.services.dates import today
from api.services.delinquency.episodes import Assessor
from api.services.delinquency.non_payment import reinstate
from api.services.rules import RuleViolation
from db import models
from db.models import DelinquencyEvent, EpisodeStatus

if TYPE_CHECKING:
    from api.schema.groups import Group

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]

strawberry.enum(
    EpisodeStatus,
    description="OPEN (money past due), CURED (cleared; re-opens if the payment comes "
    "back), TERMINATED (for non-payment), REINSTATED (by a rep after termination).",
)
strawberry.enum(
    DelinquencyEvent,
    description="A stage reached, or CURED, REOPENED (the curing payment was returned) "
    "or REINSTATED.",
)


@strawberry.type(description="One step of a delinquency episode, with the amounts it was based on.")
class DelinquencyTransition:
    event: DelinquencyEvent = strawberry.field(description="What happened.")
    as_of: dt.date = strawberry.field(description="The day it was assessed on.")
    days_past_due: int = strawberry.field(description="Days past due of the oldest invoice.")
    past_due: Money = strawberry.field(description="What was owed past due.")
    balance: Money = strawberry.field(description="The account's balance.")
    paid_through_date: dt.date | None = strawberry.field(
        description="End of the last fully paid month then."
    )
    reason: str = strawberry.field(description="Why, in plain English.")
    recorded_at: dt.datetime = strawberry.field(description="When it was recorded (UTC).")

    @classmethod
    def from_row(cls, row: models.DelinquencyTransition) -> Self:
        return cls(
            event=row.event, as_of=row.as_of, days_past_due=row.days_past_due,
            past_due=Money.from_cents(row.past_due_cents),
            balance=Money.from_cents(row.balance_cents), paid_through_date=row.paid_through_date,
            reason=row.reason, recorded_at=row.created_at,
        )  # fmt: skip


@strawberry.type(description="A stretch of unpaid premium, from the first day past due.")
class DelinquencyEpisode:
    pk: strawberry.Private[int]
    status: EpisodeStatus = strawberry.field(description="Where the episode is.")
    stage: DelinquencyStage = strawberry.field(description="The furthest stage reached.")
    past_due_since: dt.date = strawberry.field(
        description="Due date of the oldest invoice past due when it opened (day 1 is the "
        "day after)."
    )
    opened_on: dt.date = strawberry.field(description="The day it opened.")
    assessed_on: dt.date = strawberry.field(description="The day it was last assessed on.")
    days_past_due: int = strawberry.field(description="Days past due when last assessed.")
    past_due: Money = strawberry.field(description="Owed past due when last assessed.")
    balance: Money = strawberry.field(description="The account's balance when last assessed.")
    paid_through_date: dt.date | None = strawberry.field(
        description="End of the last fully paid month when last assessed."
    )
    cured_on: dt.date | None = strawberry.field(description="The day it was cleared.")
    termination_date: dt.date | None = strawberry.field(
        description="Coverage end, when terminated for non-payment (the paid-through date)."
    )

    @classmethod
    def from_row(cls, row: models.DelinquencyEpisode) -> Self:
        return cls(
            pk=row.id, status=row.status, stage=row.stage, past_due_since=row.past_due_since,
            opened_on=row.opened_on, assessed_on=row.assessed_on,
            days_past_due=row.days_past_due, past_due=Money.from_cents(row.past_due_cents),
            balance=Money.from_cents(row.balance_cents),
            paid_through_date=row.paid_through_date, cured_on=row.cured_on,
            termination_date=row.termination_date,
        )  # fmt: skip

    @strawberry.field(
        description="What happened in the episode, in order.",
        extensions=requires(BILLING_READ, area="billing"),
    )
    async def transitions(self, info: strawberry.Info) -> list[DelinquencyTransition]:
        rows = await info.context.loaders.delinquency_transitions.load(self.pk)
        return [DelinquencyTransition.from_row(row) for row in rows]


async def group_episodes(info: strawberry.Info, group_pk: int) -> list[DelinquencyEpisode]:
    rows = await info.context.loaders.delinquency_episodes.load(group_pk)
    return [DelinquencyEpisode.from_row(row) for row in rows]


@strawberry.input(description="Reinstate a group terminated for non-payment.")
class GroupReinstateInput:
    id: relay.GlobalID = strawberry.field(description="The group.")
    reason: str = strawberry.field(description="Why (shown in the audit trail and history).")


@strawberry.enum(description="Why groupReinstate refused.")
class GroupReinstateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    NOT_TERMINATED_FOR_NON_PAYMENT = strawberry.enum_value(
        "NOT_TERMINATED_FOR_NON_PAYMENT",
        description="The group is not terminated, or was terminated by request.",
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Say why.")
    BALANCE_NOT_CLEARED = strawberry.enum_value(
        "BALANCE_NOT_CLEARED", description="Money is still past due."
    )
    REFUND_PENDING = strawberry.enum_value(
        "REFUND_PENDING", description="The termination's premium refund is pending."
    )


@strawberry.type(description="A groupReinstate failure.")
class GroupReinstateUserError(UserError):
    code: GroupReinstateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The reinstated group, or why not.")
class GroupReinstatePayload:
    group: GroupRef | None = strawberry.field(description="The group (null when refused).")
    user_errors: list[GroupReinstateUserError] = strawberry.field(description="Empty on success.")


@strawberry.type
class DelinquencyEpisodeMutations:
    @strawberry.mutation(
        description="Reinstate a group terminated for non-payment (rep:billing), once "
        "nothing is past due: the coverage the termination ended is restored as it was, "
        "members and group are ACTIVE, a reinstatement letter is drafted, and the months "
        "the final invoice credited are billed again by the next billing run.",
        extensions=requires(REP_BILLING),
    )
    async def group_reinstate(
        self,
        info: strawberry.Info,
        input: Annotated[GroupReinstateInput, strawberry.argument(description="The group.")],
    ) -> GroupReinstatePayload:
        from api.schema.groups import Group

        ctx = info.context
        assessor = Assessor(ctx.audit, ctx.principal.user_id)
        try:
            group = await visible_group(info, input.id, field=("id",))
            await reinstate(ctx.session, group, reason=input.reason, on=today(),
                            assessor=assessor)  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(GroupReinstateUserError, GroupReinstateErrorCode,
                                 refused.problems)  # fmt: skip
            return GroupReinstatePayload(group=None, user_errors=errors)
        await commit(info, "group.reinstate", target_type="Group", target_id=group.group_number,
                     changes={"reason": input.reason.strip()})  # fmt: skip
        return GroupReinstatePayload(group=Group.from_row(group), user_errors=[])
