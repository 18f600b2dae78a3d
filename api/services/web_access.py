"""Web access for groups' benefit leaders (SPEC §2 Web access): invite, change access,
deactivate, resend an invitation. Who may do what is in ``web_access_rules``; the links
and emails in ``web_access_invitations``.

Every function takes the caller's ``Principal`` and the group row the caller's scoped
loader found (``None`` when the group does not exist or is not visible, which callers
cannot tell apart: ``GROUP_NOT_FOUND``). A caller who sees the group but does not manage
its users gets ``AccessDeniedError``. Everything else refused is a ``RuleViolation``
raised before anything is written; the caller commits.

Inviting an email that already has an account reuses it: an active user simply gains the
group (and is told by email); an invited one gets a fresh link; one disabled after losing
their last group is invited afresh. Internal users' emails are never available, and a user
disabled while still holding other groups stays disabled (support re-enables them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.services.dates import utc_now
from api.services.rules import Problem, RuleViolation, refuse_if
from api.services.sign_in_revocation import revoke_sign_ins
from api.services.users import create_user, email_key
from api.services.web_access_invitations import (
    announce_access,
    issue_invitation,
    revoke_invitations,
)
from api.services.web_access_rules import (
    Access,
    AccessDeniedError,
    Authority,
    access_problems,
    authority_over,
    invitee_problems,
    target_problems,
)
from api.settings import Settings
from db.models import Group, GroupGrant, User, UserRole, UserStatus
from db.queries.portal_users import PortalUserRow, portal_user_in_group, row_of

GROUP_NOT_FOUND = Problem(
    "GROUP_NOT_FOUND", "No group with this ID is visible to you; check `groupId`.", ("groupId",)
)
USER_NOT_FOUND = Problem(
    "USER_NOT_FOUND",
    "No portal user of this group has this ID; check `userId` and `groupId`.",
    ("userId",),
)

# Internal staff's emails are refused without saying so: the message fits any unusable one.
EMAIL_NOT_AVAILABLE = Problem(
    "EMAIL_NOT_AVAILABLE",
    "This email address can't be given group access; use the person's own work address.",
    ("email",),
)
ALREADY_HAS_ACCESS = Problem(
    "ALREADY_HAS_ACCESS",
    "This person already has access to this group; change it with groupUserAccessUpdate.",
    ("email",),
)
USER_DISABLED = Problem(
    "USER_DISABLED",
    "This person's portal account is disabled; ask the carrier's portal support team to "
    "re-enable it.",
    ("email",),
)
NOT_INVITED = Problem(
    "NOT_INVITED",
    "This person has already set up their account (or it is disabled); nothing to resend.",
    ("userId",),
)


@dataclass(frozen=True, slots=True)
class Invitee:
    email: str
    name: str
    access: Access


@dataclass(frozen=True, slots=True)
class Outcome:
    """The user as they are now, and what changed (for the audit log; no PHI)."""

    row: PortalUserRow
    changes: dict[str, Any]


def _authority(principal: Principal, group: Group | None) -> tuple[Group, Authority]:
    if group is None:
        raise RuleViolation([GROUP_NOT_FOUND])
    authority = authority_over(principal, group.id)
    if authority is None:
        raise AccessDeniedError("You may not manage this group's portal users.")
    return group, authority


async def _member(
    session: AsyncSession, group: Group, user_id: int | None
) -> tuple[PortalUserRow, GroupGrant]:
    """``user_id``'s grant on ``group``; other groups' users are as absent as unknown ids."""
    row = None
    if user_id is not None:
        row = await portal_user_in_group(session, group_id=group.id, user_id=user_id)
    if row is None or row.grant is None:
        raise RuleViolation([USER_NOT_FOUND])
    return row, row.grant


async def invite_user(
    session: AsyncSession,
    *,
    principal: Principal,
    group: Group | None,
    invitee: Invitee,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Grant ``invitee`` access to ``group`` and email them (an invitation link when they
    have no password yet)."""
    (group, authority), now = _authority(principal, group), now or utc_now()
    refuse_if(
        invitee_problems(invitee.email, invitee.name) + access_problems(authority, invitee.access)
    )
    user = await session.scalar(select(User).where(User.email_key == email_key(invitee.email)))
    refuse_if(await _reuse_problems(session, user, group.id))
    created = user is None
    user = user or await create_user(session, email=invitee.email, name=invitee.name, password=None)
    grant = await _grant(session, user, group, invitee.access)
    expires = await _notify(session, user, group, authority, settings, now)
    changes = {"group": group.group_number, **invitee.access.as_changes(), "newUser": created}
    return Outcome(row_of(user, grant, expires), changes)


async def _reuse_problems(session: AsyncSession, user: User | None, group_id: int) -> list[Problem]:
    """Why an existing account cannot be given this group."""
    if user is None:
        return []
    if await session.scalar(select(exists().where(UserRole.user_id == user.id))):
        return [EMAIL_NOT_AVAILABLE]
    groups = set(
        await session.scalars(select(GroupGrant.group_id).where(GroupGrant.user_id == user.id))
    )
    if group_id in groups:
        return [ALREADY_HAS_ACCESS]
    if user.status is UserStatus.DISABLED and groups:
        return [USER_DISABLED]
    return []


async def _grant(session: AsyncSession, user: User, group: Group, access: Access) -> GroupGrant:
    if user.status is UserStatus.DISABLED:  # lost every group earlier: starts over, invited
        user.status, user.password_hash = UserStatus.INVITED, None
    grant = GroupGrant(
        user_id=user.id,
        group_id=group.id,
        billing_access=access.billing,
        eligibility_access=access.eligibility,
        group_admin=access.group_admin,
    )
    session.add(grant)
    await session.flush()
    return grant


async def _notify(
    session: AsyncSession,
    user: User,
    group: Group,
    authority: Authority,
    settings: Settings,
    now: dt.datetime,
) -> dt.datetime | None:
    """An invitation for a user without a password, a notice for one who has an account;
    returns when the invitation expires."""
    if user.status is not UserStatus.INVITED:
        announce_access(session, user=user, group=group, settings=settings, now=now)
        return None
    invitation = await issue_invitation(
        session, user=user, group=group, invited_by=authority.user_id, settings=settings, now=now
    )
    return invitation.expires_at


async def update_access(
    session: AsyncSession,
    *,
    principal: Principal,
    group: Group | None,
    user_id: int | None,
    access: Access,
) -> Outcome:
    """Replace ``user_id``'s access to ``group``."""
    group, authority = _authority(principal, group)
    row, grant = await _member(session, group, user_id)
    before = Access.of(grant)
    refuse_if(target_problems(authority, row.user.id, before) + access_problems(authority, access))
    grant.billing_access, grant.eligibility_access = access.billing, access.eligibility
    grant.group_admin = access.group_admin
    await session.flush()
    changes = {"group": group.group_number, "before": before.as_changes(), **access.as_changes()}
    return Outcome(row, changes)


async def deactivate_user(
    session: AsyncSession,
    *,
    principal: Principal,
    group: Group | None,
    user_id: int | None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Remove ``user_id``'s access to ``group``; a user left with no group is DISABLED."""
    (group, authority), now = _authority(principal, group), now or utc_now()
    row, grant = await _member(session, group, user_id)
    before = Access.of(grant)
    refuse_if(target_problems(authority, row.user.id, before))
    await session.delete(grant)
    await session.flush()
    disabled = await _disable_if_without_groups(session, row.user, now)
    changes = {"group": group.group_number, "before": before.as_changes(), "disabled": disabled}
    return Outcome(row_of(row.user, None, None), changes)


async def _disable_if_without_groups(session: AsyncSession, user: User, now: dt.datetime) -> bool:
    """No group left: DISABLED, with every link, token family and sign-in session ended, so
    nothing issued earlier keeps working (a disabled user is also refused on each request)."""
    if await session.scalar(select(exists().where(GroupGrant.user_id == user.id))):
        return False
    user.status = UserStatus.DISABLED
    await revoke_invitations(session, user.id, now)
    await revoke_sign_ins(session, user.id, now=now, reason="user deactivated")
    return True


async def resend_invitation(
    session: AsyncSession,
    *,
    principal: Principal,
    group: Group | None,
    user_id: int | None,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """A new link for a user who has not accepted yet; the earlier link stops working."""
    (group, authority), now = _authority(principal, group), now or utc_now()
    row, grant = await _member(session, group, user_id)
    if row.user.status is not UserStatus.INVITED:
        raise RuleViolation([NOT_INVITED])
    invitation = await issue_invitation(
        session,
        user=row.user,
        group=group,
        invited_by=authority.user_id,
        settings=settings,
        now=now,
    )
    changes = {"group": group.group_number}
    return Outcome(row_of(row.user, grant, invitation.expires_at), changes)
