"""Delinquency settings in the API (issue 8; rep:billing): a group's own thresholds, and
emergency grace extensions. The rules are ``api.services.delinquency.configuration``.

``Group.delinquencyPolicy`` is for representatives only (``rep:billing``): a group's own
users get a FORBIDDEN error and null there, since the thresholds are the carrier's
collection practice, not part of the group's contract.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_BILLING
from api.resolvers.mutations import commit, discard
from api.schema.connections import CountedConnection, build_connection
from api.schema.lookups import in_request_order, pk_of, staff_node_ids, visible_group
from api.schema.user_errors import UserError, user_errors
from api.services.delinquency import configuration
from api.services.delinquency.policy import Thresholds
from api.services.rules import Problem, RuleViolation
from db import models
from db.queries import delinquency as queries
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.groups import Group

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]


@strawberry.type(description="The days past due at which a group reaches each stage today.")
class GroupDelinquencyPolicy:
    first_notice_days: int = strawberry.field(description="DELINQUENT: the first notice.")
    second_notice_days: int = strawberry.field(description="SECOND_NOTICE.")
    suspension_days: int = strawberry.field(description="SUSPENDED: claims pend.")
    termination_days: int = strawberry.field(description="TERMINATED for non-payment.")
    is_group_own: bool = strawberry.field(
        description="Whether the group has its own thresholds (false: the carrier's "
        "defaults, 1, 15, 31 and 61 days)."
    )
    grace_extra_days: int = strawberry.field(
        description="Days an emergency grace extension in force today adds to suspension "
        "and termination (included above; 0: none)."
    )

    @classmethod
    def from_policy(cls, found: configuration.PolicyInForce) -> Self:
        days = found.thresholds
        return cls(
            first_notice_days=days.first_notice, second_notice_days=days.second_notice,
            suspension_days=days.suspension, termination_days=days.termination,
            is_group_own=found.own is not None, grace_extra_days=found.grace_extra_days,
        )  # fmt: skip


async def group_delinquency_policy(
    info: strawberry.Info, group_pk: int
) -> GroupDelinquencyPolicy | None:
    """``Group.delinquencyPolicy``, batched across the groups of a page."""
    found = await info.context.loaders.delinquency_policy().load(group_pk)
    return None if found is None else GroupDelinquencyPolicy.from_policy(found)


@strawberry.type(
    description="An emergency grace extension: daily runs on its days suspend and "
    "terminate later, for every group or the groups of one state (a disaster area)."
)
class GraceExtension(relay.Node):
    pk: relay.NodeID[int]
    starts_on: dt.date = strawberry.field(description="The first run date it covers.")
    ends_on: dt.date = strawberry.field(description="The last run date it covers.")
    extra_days: int = strawberry.field(description="Days added to suspension and termination.")
    state: str | None = strawberry.field(
        description="Two-letter state of the groups it covers; null: every group."
    )
    reason: str = strawberry.field(description="Why it was declared.")
    created_at: dt.datetime = strawberry.field(description="When it was declared (UTC).")

    @classmethod
    def from_row(cls, row: models.GraceExtension) -> Self:
        return cls(
            pk=row.id, starts_on=row.starts_on, ends_on=row.ends_on, extra_days=row.extra_days,
            state=row.state, reason=row.reason, created_at=row.created_at,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Extensions are the representatives' business: nobody else finds one by id."""
        wanted = list(node_ids)
        ids = staff_node_ids(info, wanted, REP_BILLING)
        rows = await queries.grace_extensions_by_ids(info.context.session, ids)
        return in_request_order(wanted, {pk: cls.from_row(row) for pk, row in rows.items()})


@strawberry.type(description="A page of grace extensions, latest start first.")
class GraceExtensionConnection(CountedConnection[GraceExtension]):
    pass


@strawberry.input(description="A group's own thresholds, in days past due; each later.")
class GroupDelinquencyPolicySetInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    first_notice_days: int = strawberry.field(description="First notice; at least 1.")
    second_notice_days: int = strawberry.field(description="Second notice.")
    suspension_days: int = strawberry.field(description="Suspension (claims pend).")
    termination_days: int = strawberry.field(description="Termination; at most 365.")


@strawberry.input(description="Put a group back on the carrier's default thresholds.")
class GroupDelinquencyPolicyResetInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")


@strawberry.enum(description="Why a group's delinquency thresholds could not be changed.")
class GroupDelinquencyPolicyErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    DAYS_OUT_OF_RANGE = strawberry.enum_value(
        "DAYS_OUT_OF_RANGE", description="First notice before day 1, or termination after 365."
    )
    NOT_INCREASING = strawberry.enum_value(
        "NOT_INCREASING", description="A stage is not later than the one before it."
    )


@strawberry.type(description="Why a group's delinquency thresholds could not be changed.")
class GroupDelinquencyPolicyUserError(UserError):
    code: GroupDelinquencyPolicyErrorCode = strawberry.field(description="Machine-readable.")


@strawberry.type(description="The group with its thresholds, or why not.")
class GroupDelinquencyPolicyPayload:
    row: strawberry.Private[models.Group | None]
    user_errors: list[GroupDelinquencyPolicyUserError] = strawberry.field(
        description="Empty on success."
    )

    @strawberry.field(description="The group (null when refused); see `delinquencyPolicy`.")
    def group(self) -> GroupRef | None:
        from api.schema.groups import Group

        return None if self.row is None else Group.from_row(self.row)

    @classmethod
    def refused(cls, problems: list[Problem]) -> Self:
        errors = user_errors(
            GroupDelinquencyPolicyUserError, GroupDelinquencyPolicyErrorCode, problems
        )
        return cls(row=None, user_errors=errors)


@strawberry.input(description="Declare an emergency grace extension.")
class GraceExtensionCreateInput:
    starts_on: dt.date = strawberry.field(description="The first run date it covers.")
    ends_on: dt.date = strawberry.field(
        description="The last run date it covers; on or after `startsOn`, at most 366 days in all."
    )
    extra_days: int = strawberry.field(description="Days later to suspend and terminate, 1-180.")
    state: str | None = strawberry.field(
        default=None, description="Only groups in this state (two-letter code); default: all."
    )
    reason: str = strawberry.field(description="Why: the declared emergency (required).")


@strawberry.input(description="End a grace extension early.")
class GraceExtensionEndInput:
    id: relay.GlobalID = strawberry.field(description="The extension's `id`.")
    ends_on: dt.date = strawberry.field(
        description="Its new last day: not before `startsOn`, not after its current end."
    )


@strawberry.enum(description="Why a grace extension could not be declared or ended.")
class GraceExtensionErrorCode(enum.Enum):
    EXTENSION_NOT_FOUND = strawberry.enum_value("EXTENSION_NOT_FOUND", description="No such one.")
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Say why.")
    STATE_INVALID = strawberry.enum_value("STATE_INVALID", description="Not a US state code.")
    EXTRA_DAYS_OUT_OF_RANGE = strawberry.enum_value(
        "EXTRA_DAYS_OUT_OF_RANGE", description="Extra days not between 1 and 180."
    )
    ENDS_BEFORE_START = strawberry.enum_value(
        "ENDS_BEFORE_START", description="It would end before it starts."
    )
    TOO_LONG = strawberry.enum_value("TOO_LONG", description="It would cover over 366 days.")
    NOT_EARLIER = strawberry.enum_value(
        "NOT_EARLIER", description="Ending is only ever earlier; declare a new one to extend."
    )


@strawberry.type(description="Why a grace extension could not be declared or ended.")
class GraceExtensionUserError(UserError):
    code: GraceExtensionErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The grace extension, or why not.")
class GraceExtensionPayload:
    grace_extension: GraceExtension | None = strawberry.field(
        description="The extension (null when refused)."
    )
    user_errors: list[GraceExtensionUserError] = strawberry.field(description="Empty on success.")

    @classmethod
    def refused(cls, problems: list[Problem]) -> Self:
        errors = user_errors(GraceExtensionUserError, GraceExtensionErrorCode, problems)
        return cls(grace_extension=None, user_errors=errors)


def _thresholds(given: GroupDelinquencyPolicySetInput) -> Thresholds:
    return Thresholds(
        given.first_notice_days, given.second_notice_days, given.suspension_days,
        given.termination_days,
    )  # fmt: skip


async def _policy_changed(
    info: strawberry.Info,
    action: str,
    group: models.Group,
    before: Thresholds | None,
    after: Thresholds | None,
) -> GroupDelinquencyPolicyPayload:
    """Audit (before and after; null: the defaults) and commit a threshold change."""
    changes = {"before": configuration.as_changes(before),
               "after": configuration.as_changes(after)}  # fmt: skip
    await commit(info, action, target_type="Group", target_id=group.group_number,
                 changes=changes)  # fmt: skip
    return GroupDelinquencyPolicyPayload(row=group, user_errors=[])


async def _extension_changed(
    info: strawberry.Info, action: str, row: models.GraceExtension, changes: Mapping[str, object]
) -> GraceExtensionPayload:
    await commit(info, action, target_type="GraceExtension", target_id=str(row.id),
                 changes=changes)  # fmt: skip
    return GraceExtensionPayload(grace_extension=GraceExtension.from_row(row), user_errors=[])


def _facts(row: models.GraceExtension) -> dict[str, object]:
    """A new extension as the audit log records it."""
    return {
        "startsOn": row.starts_on.isoformat(), "endsOn": row.ends_on.isoformat(),
        "extraDays": row.extra_days, "state": row.state, "reason": row.reason,
    }  # fmt: skip


@strawberry.type
class DelinquencySettingsMutations:
    @strawberry.mutation(
        description="Give a group its own delinquency thresholds (rep:billing): days past "
        "due of each stage, each later than the one before, first notice from day 1, "
        "termination by day 365. Later daily runs use them; audited with before and after.",
        extensions=requires(REP_BILLING),
    )
    async def group_delinquency_policy_set(
        self,
        info: strawberry.Info,
        input: Annotated[
            GroupDelinquencyPolicySetInput, strawberry.argument(description="The thresholds.")
        ],
    ) -> GroupDelinquencyPolicyPayload:
        thresholds, user_id = _thresholds(input), info.context.principal.user_id
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            before = await configuration.set_policy(
                info.context.session, group_id=group.id, thresholds=thresholds, user_id=user_id
            )
        except RuleViolation as refused:
            await discard(info)
            return GroupDelinquencyPolicyPayload.refused(refused.problems)
        return await _policy_changed(info, "groupDelinquencyPolicy.set", group, before, thresholds)

    @strawberry.mutation(
        description="Put a group back on the carrier's default delinquency thresholds "
        "(rep:billing); nothing changes for a group already on them. Audited.",
        extensions=requires(REP_BILLING),
    )
    async def group_delinquency_policy_reset(
        self,
        info: strawberry.Info,
        input: Annotated[
            GroupDelinquencyPolicyResetInput, strawberry.argument(description="The group.")
        ],
    ) -> GroupDelinquencyPolicyPayload:
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
        except RuleViolation as refused:
            return GroupDelinquencyPolicyPayload.refused(refused.problems)
        before = await configuration.reset_policy(info.context.session, group_id=group.id)
        return await _policy_changed(info, "groupDelinquencyPolicy.reset", group, before, None)

    @strawberry.mutation(
        description="Declare an emergency grace extension (rep:billing): daily runs from "
        "`startsOn` through `endsOn` suspend and terminate `extraDays` later, for every "
        "group or those of one state. The longest extension covering a day wins. Audited.",
        extensions=requires(REP_BILLING),
    )
    async def grace_extension_create(
        self,
        info: strawberry.Info,
        input: Annotated[GraceExtensionCreateInput, strawberry.argument(description="It.")],
    ) -> GraceExtensionPayload:
        try:
            row = await configuration.create_extension(
                info.context.session, starts_on=input.starts_on, ends_on=input.ends_on,
                extra_days=input.extra_days, state=input.state, reason=input.reason,
                user_id=info.context.principal.user_id,
            )  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            return GraceExtensionPayload.refused(refused.problems)
        return await _extension_changed(info, "graceExtension.create", row, _facts(row))

    @strawberry.mutation(
        description="End a grace extension early (rep:billing): runs after the new "
        "`endsOn` no longer get its extra days. Audited with the old and new end.",
        extensions=requires(REP_BILLING),
    )
    async def grace_extension_end(
        self,
        info: strawberry.Info,
        input: Annotated[GraceExtensionEndInput, strawberry.argument(description="The end.")],
    ) -> GraceExtensionPayload:
        try:
            before, row = await configuration.end_extension(
                info.context.session,
                extension_id=pk_of(input.id, "GraceExtension"),
                ends_on=input.ends_on,
            )
        except RuleViolation as refused:
            await discard(info)
            return GraceExtensionPayload.refused(refused.problems)
        changes = {"endsOn": {"before": before.isoformat(), "after": row.ends_on.isoformat()}}
        return await _extension_changed(info, "graceExtension.end", row, changes)


async def resolve_grace_extensions(
    info: strawberry.Info, *, active_on: dt.date | None, first: int, after: str | None
) -> GraceExtensionConnection:
    """``Query.graceExtensions``: latest start first, optionally those covering a day."""
    session = info.context.session
    page = await queries.grace_extensions_page(
        session, active_on=active_on, page=PageRequest(first, after)
    )

    async def count() -> int:
        return await queries.count_grace_extensions(session, active_on=active_on)

    return build_connection(GraceExtensionConnection, page, GraceExtension.from_row, count)
