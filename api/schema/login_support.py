"""Login troubleshooting and resets for support staff (SPEC §2 Web access; issue 9).

Both fields need ``support:access`` (support staff and administrators; representatives and
benefit leaders are ``FORBIDDEN``). Who may be reset is the service's business
(``api.services.login_reset_rules``): refusals are userErrors. Reading the view is audited
as ``user.troubleshoot``, a reset as ``login.reset`` with the access issue's reference.
"""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay

from api.auth.browser_session import client_ip
from api.auth.permissions import requires
from api.auth.policy import SUPPORT_ACCESS
from api.resolvers.mutations import commit, discard
from api.schema.login_support_types import UserTroubleshooting
from api.schema.user_errors import UserError, user_errors
from api.schema.web_access import node_pk
from api.services import login_support as service
from api.services.dates import utc_now
from api.services.login_reset_rules import ResetAction, ResetActor
from api.services.rules import RuleViolation
from api.services.users import email_key
from db.models import User
from db.queries import login_support as queries

strawberry.enum(
    ResetAction,
    name="LoginResetAction",
    description="UNLOCK: end a lockout now. SEND_PASSWORD_RESET: email the user a one-time "
    "link to choose a new password (valid 1 hour). RESET_MFA: remove two-step verification "
    "and recovery codes; the user sets up an authenticator again at sign-in. "
    "REVOKE_SESSIONS: sign the user out of every browser and app.",
)


def _code(name: str, description: str) -> object:
    return strawberry.enum_value(name, description=description)


@strawberry.enum(description="Why a userLoginReset was refused.")
class UserLoginResetErrorCode(enum.Enum):
    USER_NOT_FOUND = _code("USER_NOT_FOUND", "No user has this ID.")
    OWN_ACCOUNT = _code("OWN_ACCOUNT", "Nobody resets their own login.")
    INTERNAL_ACCOUNT = _code(
        "INTERNAL_ACCOUNT", "A staff account (only admins reset reps and support staff)."
    )
    ISSUE_REQUIRED = _code("ISSUE_REQUIRED", "No access issue reference given.")
    ISSUE_NOT_FOUND = _code("ISSUE_NOT_FOUND", "No access issue has this reference.")
    ISSUE_RESOLVED = _code("ISSUE_RESOLVED", "The access issue is resolved.")
    ISSUE_ABOUT_ANOTHER_USER = _code(
        "ISSUE_ABOUT_ANOTHER_USER", "The access issue is about another account."
    )
    NO_ACTIONS = _code("NO_ACTIONS", "No action chosen.")
    DUPLICATE_ACTIONS = _code("DUPLICATE_ACTIONS", "An action given twice.")
    USER_DISABLED = _code("USER_DISABLED", "A disabled account is not unlocked or sent a link.")
    NOT_LOCKED = _code("NOT_LOCKED", "UNLOCK of an account that is not locked.")
    NOT_ACTIVATED = _code("NOT_ACTIVATED", "A reset link for an account not yet set up.")
    MFA_NOT_SET_UP = _code("MFA_NOT_SET_UP", "RESET_MFA of an account without MFA.")


@strawberry.type(description="A userLoginReset failure.")
class UserLoginResetUserError(UserError):
    code: UserLoginResetErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The user's sign-in state after the reset, or why not.")
class UserLoginResetPayload:
    user: UserTroubleshooting | None = strawberry.field(
        description="The troubleshooting view after the reset (null when refused)."
    )
    user_errors: list[UserLoginResetUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A login reset under an access issue.")
class UserLoginResetInput:
    user_id: relay.GlobalID = strawberry.field(
        description="The user's `id` (`UserTroubleshooting.userId`)."
    )
    access_issue_reference: str = strawberry.field(
        description="The reference of the open access issue this reset answers (e.g. AI-7K3Q9X)."
    )
    actions: list[ResetAction] = strawberry.field(
        description="What to do, each at most once; done in the order UNLOCK, RESET_MFA, "
        "REVOKE_SESSIONS, SEND_PASSWORD_RESET."
    )


async def resolve_user_troubleshooting(
    info: strawberry.Info, *, user_id: relay.GlobalID | None, email: str | None
) -> UserTroubleshooting | None:
    """The view of the user given by exactly one of ``user_id`` or ``email``; null when no
    such user exists."""
    if (user_id is None) == (email is None):
        raise GraphQLError(
            "Give either `userId` or `email`.", extensions={"code": "BAD_USER_INPUT"}
        )
    user = await _find(info, user_id, email)
    if user is None:
        return None
    info.context.audit.record("user.troubleshoot", target_type="User", target_id=str(user.id))
    return await _view(info, user)


async def _find(
    info: strawberry.Info, user_id: relay.GlobalID | None, email: str | None
) -> User | None:
    session = info.context.session
    if email is not None:
        return await queries.user_by_email_key(session, email_key(email))
    pk = None if user_id is None else node_pk(user_id, "PortalUser")
    return None if pk is None else await queries.user_by_id(session, pk)


async def _view(info: strawberry.Info, user: User) -> UserTroubleshooting:
    ctx = info.context
    view = await service.troubleshooting(ctx.session, user, settings=ctx.settings, now=utc_now())
    return UserTroubleshooting.from_view(view)


@strawberry.type
class LoginSupportMutations:
    @strawberry.mutation(
        description="Unlock, send a password-reset link, reset MFA and/or sign out a user "
        "everywhere, under an open access issue (support:access). The user is emailed what "
        "was done. Support cannot reset staff accounts or their own; nobody sees or sets a "
        "password or code here.",
        extensions=requires(SUPPORT_ACCESS),
    )
    async def user_login_reset(
        self,
        info: strawberry.Info,
        input: Annotated[UserLoginResetInput, strawberry.argument(description="What to do.")],
    ) -> UserLoginResetPayload:
        ctx = info.context
        principal = ctx.principal
        if principal.user_id is None:  # an internal system's token: no person to vouch
            raise GraphQLError("Only a signed-in staff member can reset a login.",
                               extensions={"code": "FORBIDDEN"})  # fmt: skip
        actor = ResetActor(principal.user_id, principal.roles, client_ip(ctx.request))
        try:
            outcome = await service.reset(
                ctx.session, actor=actor, user_id=node_pk(input.user_id, "PortalUser"),
                reference=input.access_issue_reference, actions=input.actions,
                settings=ctx.settings, now=utc_now(),
            )  # fmt: skip
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(UserLoginResetUserError, UserLoginResetErrorCode, refused.problems)
            return UserLoginResetPayload(user=None, user_errors=errors)
        target = str(outcome.user_id)
        await commit(info, "login.reset", target_type="User", target_id=target,
                     changes=outcome.changes)  # fmt: skip
        user = await queries.user_by_id(ctx.session, outcome.user_id)
        view = None if user is None else await _view(info, user)
        return UserLoginResetPayload(user=view, user_errors=[])
