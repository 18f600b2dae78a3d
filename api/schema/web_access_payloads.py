"""The web-access mutations' error codes, errors and payloads (CONVENTIONS §2.7: a code
enum per mutation, each error implementing ``UserError``; the payload returns the user)."""

from __future__ import annotations

import enum

import strawberry

from api.schema.user_errors import UserError
from api.schema.web_access_types import PortalUser


@strawberry.enum(description="Why webAccessProvision refused.")
class WebAccessProvisionErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="Not one email address.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="Name missing or too long.")
    NO_ACCESS_GIVEN = strawberry.enum_value("NO_ACCESS_GIVEN", description="All NONE, no admin.")
    ALREADY_HAS_ACCESS = strawberry.enum_value(
        "ALREADY_HAS_ACCESS", description="The person already has access to the group."
    )
    EMAIL_NOT_AVAILABLE = strawberry.enum_value(
        "EMAIL_NOT_AVAILABLE", description="The email belongs to an account that can't be used."
    )
    USER_DISABLED = strawberry.enum_value(
        "USER_DISABLED", description="The account is disabled while holding other groups."
    )


@strawberry.enum(description="Why groupUserInvite refused.")
class GroupUserInviteErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="Not one email address.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="Name missing or too long.")
    NO_ACCESS_GIVEN = strawberry.enum_value("NO_ACCESS_GIVEN", description="All NONE, no admin.")
    ABOVE_YOUR_ACCESS = strawberry.enum_value(
        "ABOVE_YOUR_ACCESS", description="More access than the caller holds in the group."
    )
    ALREADY_HAS_ACCESS = strawberry.enum_value(
        "ALREADY_HAS_ACCESS", description="The person already has access to the group."
    )
    EMAIL_NOT_AVAILABLE = strawberry.enum_value(
        "EMAIL_NOT_AVAILABLE", description="The email belongs to an account that can't be used."
    )
    USER_DISABLED = strawberry.enum_value(
        "USER_DISABLED", description="The account is disabled while holding other groups."
    )


@strawberry.enum(description="Why groupUserAccessUpdate refused.")
class GroupUserAccessUpdateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    USER_NOT_FOUND = strawberry.enum_value(
        "USER_NOT_FOUND", description="No such portal user in the group."
    )
    NO_ACCESS_GIVEN = strawberry.enum_value("NO_ACCESS_GIVEN", description="All NONE, no admin.")
    ABOVE_YOUR_ACCESS = strawberry.enum_value(
        "ABOVE_YOUR_ACCESS", description="The old or new access exceeds the caller's."
    )
    CANNOT_CHANGE_YOURSELF = strawberry.enum_value(
        "CANNOT_CHANGE_YOURSELF", description="Callers cannot change their own access."
    )


@strawberry.enum(description="Why groupUserDeactivate refused.")
class GroupUserDeactivateErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    USER_NOT_FOUND = strawberry.enum_value(
        "USER_NOT_FOUND", description="No such portal user in the group."
    )
    ABOVE_YOUR_ACCESS = strawberry.enum_value(
        "ABOVE_YOUR_ACCESS", description="The user's access exceeds the caller's."
    )
    CANNOT_CHANGE_YOURSELF = strawberry.enum_value(
        "CANNOT_CHANGE_YOURSELF", description="Callers cannot deactivate themselves."
    )


@strawberry.enum(description="Why invitationResend refused.")
class InvitationResendErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    USER_NOT_FOUND = strawberry.enum_value(
        "USER_NOT_FOUND", description="No such portal user in the group."
    )
    NOT_INVITED = strawberry.enum_value(
        "NOT_INVITED", description="The user has already accepted (or is not invited)."
    )


@strawberry.type(description="A webAccessProvision failure.")
class WebAccessProvisionUserError(UserError):
    code: WebAccessProvisionErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="A groupUserInvite failure.")
class GroupUserInviteUserError(UserError):
    code: GroupUserInviteErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="A groupUserAccessUpdate failure.")
class GroupUserAccessUpdateUserError(UserError):
    code: GroupUserAccessUpdateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="A groupUserDeactivate failure.")
class GroupUserDeactivateUserError(UserError):
    code: GroupUserDeactivateErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="An invitationResend failure.")
class InvitationResendUserError(UserError):
    code: InvitationResendErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The provisioned user, or why not.")
class WebAccessProvisionPayload:
    user: PortalUser | None = strawberry.field(description="The user (null when refused).")
    user_errors: list[WebAccessProvisionUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The invited user, or why not.")
class GroupUserInvitePayload:
    user: PortalUser | None = strawberry.field(description="The user (null when refused).")
    user_errors: list[GroupUserInviteUserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The user with their new access, or why not.")
class GroupUserAccessUpdatePayload:
    user: PortalUser | None = strawberry.field(description="The user (null when refused).")
    user_errors: list[GroupUserAccessUpdateUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The user without access to the group, or why not.")
class GroupUserDeactivatePayload:
    user: PortalUser | None = strawberry.field(
        description="The user, now without access to the group: DISABLED when it was their "
        "last group (null when refused)."
    )
    user_errors: list[GroupUserDeactivateUserError] = strawberry.field(
        description="Empty on success."
    )


@strawberry.type(description="The user with their new invitation's expiry, or why not.")
class InvitationResendPayload:
    user: PortalUser | None = strawberry.field(description="The user (null when refused).")
    user_errors: list[InvitationResendUserError] = strawberry.field(description="Empty on success.")
