"""Web-access mutations (SPEC §2 Web access): a representative provisions a group's benefit
leader; a group admin invites, changes and deactivates the group's own users.

Field gate: ``webAccessProvision`` needs ``rep:groups``; ``groupUserInvite`` needs
``users:manage`` (group admins); changing, deactivating and re-inviting accept either
(``manages_portal_users``). The service then checks the group itself: a group the caller
cannot see is ``GROUP_NOT_FOUND``, exactly like one that does not exist; a group they see
but do not administer is ``FORBIDDEN``; levels above the caller's own are userErrors.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry import relay

from api.auth.permissions import manages_portal_users, requires
from api.auth.policy import REP_GROUPS, USERS_MANAGE
from api.resolvers.mutations import commit, discard
from api.schema.user_errors import user_errors
from api.schema.web_access_payloads import (
    GroupUserAccessUpdateErrorCode,
    GroupUserAccessUpdatePayload,
    GroupUserAccessUpdateUserError,
    GroupUserDeactivateErrorCode,
    GroupUserDeactivatePayload,
    GroupUserDeactivateUserError,
    GroupUserInviteErrorCode,
    GroupUserInvitePayload,
    GroupUserInviteUserError,
    InvitationResendErrorCode,
    InvitationResendPayload,
    InvitationResendUserError,
    WebAccessProvisionErrorCode,
    WebAccessProvisionPayload,
    WebAccessProvisionUserError,
)
from api.schema.web_access_types import AccessLevelType, PortalUser
from api.services import web_access as service
from api.services.rules import Problem, RuleViolation
from api.services.web_access_rules import Access, AccessDeniedError
from db.models import AuditOutcome, Group

P = TypeVar("P")
MAX_ROW_ID = 2**63 - 1


# --- inputs -----------------------------------------------------------------------------


@strawberry.input(description="Access to give a benefit leader in one group.")
class PortalUserAccessInput:
    billing: AccessLevelType = strawberry.field(
        description="Access to the group's bills, payments and balances."
    )
    eligibility: AccessLevelType = strawberry.field(
        description="Access to the group's roster and eligibility changes."
    )
    group_admin: bool = strawberry.field(
        default=False,
        description="May invite and manage the group's portal users, up to their own access.",
    )

    def to_service(self) -> Access:
        return Access(self.billing, self.eligibility, self.group_admin)


@strawberry.input(description="A benefit leader to invite to a group's portal.")
class GroupUserInviteInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    email: str = strawberry.field(
        description="Their email address (sign-in name); an existing account is reused."
    )
    name: str = strawberry.field(description="Their name, at most 200 characters.")
    access: PortalUserAccessInput = strawberry.field(description="Their access to the group.")

    def invitee(self) -> service.Invitee:
        return service.Invitee(self.email, self.name, self.access.to_service())


@strawberry.input(description="A group's benefit leader to provision (representatives).")
class WebAccessProvisionInput(GroupUserInviteInput):
    pass


@strawberry.input(description="A portal user of a group.")
class GroupUserDeactivateInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    user_id: relay.GlobalID = strawberry.field(description="The portal user's `id`.")


@strawberry.input(description="A portal user of a group who has not accepted yet.")
class InvitationResendInput(GroupUserDeactivateInput):
    pass


@strawberry.input(description="New access for a portal user of a group.")
class GroupUserAccessUpdateInput(GroupUserDeactivateInput):
    access: PortalUserAccessInput = strawberry.field(
        description="Their access to the group, replacing the current one."
    )


# --- running a mutation -----------------------------------------------------------------


def node_pk(global_id: relay.GlobalID, type_name: str) -> int | None:
    """The row id inside a global ID of ``type_name``; ``None`` for any other ID."""
    node_id = global_id.node_id
    if global_id.type_name != type_name or not node_id.isdigit() or len(node_id) > 19:
        return None
    return int(node_id) if int(node_id) <= MAX_ROW_ID else None


async def scoped_group(info: strawberry.Info, group_id: relay.GlobalID) -> Group | None:
    """The group through the caller's scoped loader: another group's is ``None`` too."""
    pk = node_pk(group_id, "Group")
    return None if pk is None else await info.context.loaders.group.load(pk)


async def _perform(
    info: strawberry.Info, action: str, work: Awaitable[service.Outcome]
) -> service.Outcome | list[Problem]:
    """Commit the work with its audit event, or leave nothing behind."""
    try:
        outcome = await work
    except RuleViolation as refused:
        await discard(info)
        return refused.problems
    except AccessDeniedError as denied:
        await discard(info)
        raise _forbidden(info, str(denied)) from None
    target = str(outcome.row.user.id)
    await commit(info, action, target_type="PortalUser", target_id=target, changes=outcome.changes)
    return outcome


def _forbidden(info: strawberry.Info, message: str) -> GraphQLError:
    info.context.audit.record(
        f"denied:{info.path.typename}.{info.field_name}",
        outcome=AuditOutcome.DENIED,
        changes={"needs": "group admin of this group"},
    )
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def _payload(
    payload: Callable[..., P],
    error_type: type[Any],
    codes: type[enum.Enum],
    result: service.Outcome | list[Problem],
) -> P:
    if isinstance(result, service.Outcome):
        return payload(user=PortalUser.from_row(result.row), user_errors=[])
    return payload(user=None, user_errors=user_errors(error_type, codes, result))


# --- the mutations ----------------------------------------------------------------------


@strawberry.type
class WebAccessMutations:
    @strawberry.mutation(
        description="Give a group's benefit leader web access and email them a one-time "
        "link to set their password (valid 7 days); any levels and the group-admin flag "
        "(rep:groups).",
        extensions=requires(REP_GROUPS),
    )
    async def web_access_provision(
        self,
        info: strawberry.Info,
        input: Annotated[WebAccessProvisionInput, strawberry.argument(description="Who.")],
    ) -> WebAccessProvisionPayload:
        ctx = info.context
        group = await scoped_group(info, input.group_id)
        work = service.invite_user(
            ctx.session,
            principal=ctx.principal,
            group=group,
            invitee=input.invitee(),
            settings=ctx.settings,
        )
        result = await _perform(info, "webAccess.provision", work)
        return _payload(
            WebAccessProvisionPayload,
            WebAccessProvisionUserError,
            WebAccessProvisionErrorCode,
            result,
        )

    @strawberry.mutation(
        description="Invite someone to your group's portal, with access up to your own "
        "(group admins, users:manage). They get a one-time link valid 7 days.",
        extensions=requires(USERS_MANAGE),
    )
    async def group_user_invite(
        self,
        info: strawberry.Info,
        input: Annotated[GroupUserInviteInput, strawberry.argument(description="Who.")],
    ) -> GroupUserInvitePayload:
        ctx = info.context
        group = await scoped_group(info, input.group_id)
        work = service.invite_user(
            ctx.session,
            principal=ctx.principal,
            group=group,
            invitee=input.invitee(),
            settings=ctx.settings,
        )
        result = await _perform(info, "groupUser.invite", work)
        return _payload(
            GroupUserInvitePayload, GroupUserInviteUserError, GroupUserInviteErrorCode, result
        )

    @strawberry.mutation(
        description="Replace a portal user's access to a group (representatives, or the "
        "group's admins up to their own access; not your own).",
        extensions=manages_portal_users(),
    )
    async def group_user_access_update(
        self,
        info: strawberry.Info,
        input: Annotated[GroupUserAccessUpdateInput, strawberry.argument(description="Who.")],
    ) -> GroupUserAccessUpdatePayload:
        ctx = info.context
        group = await scoped_group(info, input.group_id)
        work = service.update_access(
            ctx.session,
            principal=ctx.principal,
            group=group,
            user_id=node_pk(input.user_id, "PortalUser"),
            access=input.access.to_service(),
        )
        result = await _perform(info, "groupUser.accessUpdate", work)
        return _payload(
            GroupUserAccessUpdatePayload,
            GroupUserAccessUpdateUserError,
            GroupUserAccessUpdateErrorCode,
            result,
        )

    @strawberry.mutation(
        description="Remove a portal user's access to a group; a user left without any "
        "group is DISABLED and signed out everywhere (representatives, or the group's "
        "admins; not yourself).",
        extensions=manages_portal_users(),
    )
    async def group_user_deactivate(
        self,
        info: strawberry.Info,
        input: Annotated[GroupUserDeactivateInput, strawberry.argument(description="Who.")],
    ) -> GroupUserDeactivatePayload:
        ctx = info.context
        group = await scoped_group(info, input.group_id)
        work = service.deactivate_user(
            ctx.session,
            principal=ctx.principal,
            group=group,
            user_id=node_pk(input.user_id, "PortalUser"),
        )
        result = await _perform(info, "groupUser.deactivate", work)
        return _payload(
            GroupUserDeactivatePayload,
            GroupUserDeactivateUserError,
            GroupUserDeactivateErrorCode,
            result,
        )

    @strawberry.mutation(
        description="Email an invited user a new one-time link (valid 7 days); the earlier "
        "link stops working (representatives, or the group's admins).",
        extensions=manages_portal_users(),
    )
    async def invitation_resend(
        self,
        info: strawberry.Info,
        input: Annotated[InvitationResendInput, strawberry.argument(description="Who.")],
    ) -> InvitationResendPayload:
        ctx = info.context
        group = await scoped_group(info, input.group_id)
        work = service.resend_invitation(
            ctx.session,
            principal=ctx.principal,
            group=group,
            user_id=node_pk(input.user_id, "PortalUser"),
            settings=ctx.settings,
        )
        result = await _perform(info, "invitation.resend", work)
        return _payload(
            InvitationResendPayload, InvitationResendUserError, InvitationResendErrorCode, result
        )
