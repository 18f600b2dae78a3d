"""``userEmailChange`` (issue 9: "changing a user's email needs a rep or admin"): the field
gate is ``rep:groups``, held by representatives and administrators and not by support
staff or benefit leaders (``FORBIDDEN``). Audited as ``user.emailChange``; the addresses
themselves are PHI-redacted in the log, the reason is kept.
"""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.auth.permissions import requires
from api.auth.policy import REP_GROUPS
from api.resolvers.mutations import commit, discard
from api.schema.user_errors import UserError, user_errors
from api.schema.web_access import node_pk
from api.schema.web_access_types import PortalUser
from api.services.dates import utc_now
from api.services.rules import RuleViolation
from api.services.user_email_change import MAX_REASON_LENGTH, EmailChange, change_email
from db.queries.portal_users import row_of


@strawberry.enum(description="Why a userEmailChange was refused.")
class UserEmailChangeErrorCode(enum.Enum):
    USER_NOT_FOUND = strawberry.enum_value("USER_NOT_FOUND", description="No such portal user.")
    INTERNAL_ACCOUNT = strawberry.enum_value(
        "INTERNAL_ACCOUNT", description="A staff account's email is not changed here."
    )
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="Not an email address.")
    SAME_EMAIL = strawberry.enum_value("SAME_EMAIL", description="Already the user's email.")
    EMAIL_TAKEN = strawberry.enum_value(
        "EMAIL_TAKEN", description="Another account uses this email."
    )
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="Say why.")


@strawberry.type(description="A userEmailChange failure.")
class UserEmailChangeUserError(UserError):
    code: UserEmailChangeErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The user with their new email, or why not.")
class UserEmailChangePayload:
    user: PortalUser | None = strawberry.field(description="The user (null when refused).")
    user_errors: list[UserEmailChangeUserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A portal user's new sign-in email.")
class UserEmailChangeInput:
    user_id: relay.GlobalID = strawberry.field(description="The portal user's `id`.")
    email: str = strawberry.field(description="The new address, unique, at most 320 characters.")
    reason: str = strawberry.field(
        description=f"Why it changes (kept in the audit log), at most {MAX_REASON_LENGTH} "
        "characters."
    )


@strawberry.type
class UserEmailChangeMutations:
    @strawberry.mutation(
        description="Change a benefit leader's sign-in email (rep:groups: representatives and "
        "administrators, not support). Both addresses are told; sessions stay signed in; "
        "links emailed earlier (password resets, invitations) stop working.",
        extensions=requires(REP_GROUPS),
    )
    async def user_email_change(
        self,
        info: strawberry.Info,
        input: Annotated[UserEmailChangeInput, strawberry.argument(description="Who, what.")],
    ) -> UserEmailChangePayload:
        ctx = info.context
        change = EmailChange(node_pk(input.user_id, "PortalUser"), input.email, input.reason)
        try:
            user = await change_email(ctx.session, change, now=utc_now())
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                UserEmailChangeUserError, UserEmailChangeErrorCode, refused.problems
            )
            return UserEmailChangePayload(user=None, user_errors=errors)
        changes = {"email": user.email, "reason": change.reason.strip()}
        await commit(info, "user.emailChange", target_type="PortalUser", target_id=str(user.id),
                     changes=changes)  # fmt: skip
        return UserEmailChangePayload(
            user=PortalUser.from_row(row_of(user, None, None)), user_errors=[]
        )
