"""The login troubleshooting view as the API shows it (SPEC §2 Web access; issue 9).

No type here has a field for a password, a hash, a TOTP secret, a recovery code, a token
or a reset link: what support cannot read has nowhere to appear (a test walks every type
reachable from the schema to keep it so).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.services.login_support import Troubleshooting
from db.models import LoginFailureReason, LoginOutcome
from db.queries.login_support import AttemptRow, FamilyRow, SessionRow

if TYPE_CHECKING:
    from db.models import Role, UserStatus

# Registered with their descriptions elsewhere; referenced lazily so that an eager
# reference does not register them a second time (as in ``web_access_types``).
RoleType = Annotated["Role", strawberry.lazy("api.schema.viewer")]
UserStatusType = Annotated["UserStatus", strawberry.lazy("api.schema.web_access_types")]

strawberry.enum(LoginOutcome, description="Whether a sign-in attempt succeeded.")
strawberry.enum(
    LoginFailureReason,
    description="Why a sign-in attempt failed, as recorded (the person signing in is only "
    "ever told that it failed): WRONG_PASSWORD, UNKNOWN_EMAIL, LOCKED (refused while "
    "locked), DISABLED, NOT_ACTIVATED (invitation not accepted), MFA_FAILED (wrong code), "
    "UNKNOWN_CLIENT.",
)


@strawberry.type(description="One sign-in attempt.")
class LoginAttempt:
    at: dt.datetime = strawberry.field(description="When (UTC).")
    outcome: LoginOutcome = strawberry.field(description="Succeeded or failed.")
    reason: LoginFailureReason | None = strawberry.field(description="Why it failed; null if not.")
    ip: str | None = strawberry.field(description="The IP address it came from.")
    user_agent: str | None = strawberry.field(description="The browser's User-Agent.")

    @classmethod
    def from_row(cls, row: AttemptRow) -> Self:
        return cls(
            at=row.at, outcome=row.outcome, reason=row.reason, ip=row.ip, user_agent=row.user_agent
        )


@strawberry.type(description="A browser signed in (or signing in) to the portal.")
class BrowserSession:
    started_at: dt.datetime = strawberry.field(description="When the password was given (UTC).")
    last_seen_at: dt.datetime = strawberry.field(description="Last request (UTC).")
    expires_at: dt.datetime = strawberry.field(
        description="When it ends at the latest (UTC); it ends sooner after 30 idle minutes."
    )
    mfa_passed: bool = strawberry.field(description="The second factor was verified.")
    ip: str | None = strawberry.field(description="The IP address it was started from.")
    user_agent: str | None = strawberry.field(description="The browser's User-Agent.")

    @classmethod
    def from_row(cls, row: SessionRow) -> Self:
        return cls(
            started_at=row.started_at, last_seen_at=row.last_seen_at, expires_at=row.expires_at,
            mfa_passed=row.mfa_passed, ip=row.ip, user_agent=row.user_agent,
        )  # fmt: skip


@strawberry.type(
    description="An app's grant of refresh tokens (a family: refreshing rotates the token; "
    "revoking the family signs the app out)."
)
class RefreshTokenFamily:
    client_id: str = strawberry.field(description="The OAuth client (app) holding it.")
    created_at: dt.datetime = strawberry.field(description="When the app was signed in (UTC).")
    last_used_at: dt.datetime | None = strawberry.field(
        description="When a refresh token of it was last used (UTC); null if never."
    )
    expires_at: dt.datetime = strawberry.field(description="When it ends at the latest (UTC).")

    @classmethod
    def from_row(cls, row: FamilyRow) -> Self:
        return cls(
            client_id=row.client_id, created_at=row.created_at,
            last_used_at=row.last_used_at, expires_at=row.expires_at,
        )  # fmt: skip


@strawberry.type(
    description="Why a user can or cannot sign in (support:access). Never shows the password, "
    "hashes, MFA secrets, recovery codes or reset links."
)
class UserTroubleshooting:
    user_id: relay.GlobalID = strawberry.field(
        description="The user's `id` (a `PortalUser` ID), for `userLoginReset`."
    )
    email: str = strawberry.field(description="Sign-in email address.")
    name: str = strawberry.field(description="The person's name.")
    status: UserStatusType = strawberry.field(description="Account status.")
    staff_roles: list[RoleType] = strawberry.field(
        description="Internal roles; support cannot reset an account that has any."
    )
    locked: bool = strawberry.field(description="Locked now (too many failed sign-ins).")
    locked_until: dt.datetime | None = strawberry.field(
        description="While locked: when the lock ends by itself (UTC); null if not locked or "
        "locked until unlocked."
    )
    mfa_enrolled: bool = strawberry.field(description="Two-step verification is set up.")
    mfa_enrolled_at: dt.datetime | None = strawberry.field(
        description="When two-step verification was set up (UTC)."
    )
    last_sign_in_at: dt.datetime | None = strawberry.field(
        description="Last successful password step (UTC); null if never."
    )
    recent_login_attempts: list[LoginAttempt] = strawberry.field(
        description="Sign-in attempts of the last 30 days, newest first, at most 20."
    )
    active_sessions: list[BrowserSession] = strawberry.field(
        description="Browser sessions not ended, idled out or expired; newest first, at most 50."
    )
    active_token_families: list[RefreshTokenFamily] = strawberry.field(
        description="Apps holding live refresh tokens; newest first, at most 50."
    )

    @classmethod
    def from_view(cls, view: Troubleshooting) -> Self:
        return cls(
            user_id=relay.GlobalID("PortalUser", str(view.user_id)),
            email=view.email, name=view.name, status=view.status,
            staff_roles=sorted(view.roles), locked=view.locked, locked_until=view.locked_until,
            mfa_enrolled=view.mfa_enrolled_at is not None, mfa_enrolled_at=view.mfa_enrolled_at,
            last_sign_in_at=view.last_sign_in_at,
            recent_login_attempts=[LoginAttempt.from_row(r) for r in view.attempts],
            active_sessions=[BrowserSession.from_row(r) for r in view.sessions],
            active_token_families=[RefreshTokenFamily.from_row(r) for r in view.token_families],
        )  # fmt: skip
