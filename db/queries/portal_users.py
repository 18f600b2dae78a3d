"""Groups' portal users (SPEC §2 Web access), scoped in SQL to the groups the caller
manages (``api.services.web_access_rules.managed_group_ids``): representatives see every
group's users, a group admin only their own groups' users, everyone else none. Internal
users (with roles) are never portal users here, whatever grants they may hold.

A page of users carries, per user, the grant on the group and the expiry of the live
invitation, fetched in the same statement: the statement count never grows with the page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.services.web_access_rules import managed_group_ids
from db.models import GroupGrant, Invitation, User, UserRole, UserStatus
from db.queries.paging import Page, PageRequest, decode_cursor, finish_page

CURSOR_TYPES = (str, int)


@dataclass(frozen=True, slots=True)
class PortalUserFilter:
    """Only users in one of ``statuses`` (all when ``None``)."""

    statuses: tuple[UserStatus, ...] | None = None


@dataclass(frozen=True, slots=True)
class PortalUserRow:
    """A portal user, their grant on the group they were reached through (``None`` when
    looked up by id alone) and when their pending invitation expires."""

    user: User
    grant: GroupGrant | None
    invitation_expires_at: dt.datetime | None


def _managed(principal: Principal, group_id: Any) -> ColumnElement[bool]:
    managed = managed_group_ids(principal)
    if managed is None:
        return true()
    return group_id.in_(sorted(managed)) if managed else false()


def not_internal() -> ColumnElement[bool]:
    """SQL condition: the user has no internal role."""
    return ~exists().where(UserRole.user_id == User.id)


def invitation_expiry() -> Any:
    """Correlated scalar: the latest expiry among the user's unused, unrevoked invitations."""
    return (
        select(func.max(Invitation.expires_at))
        .where(
            Invitation.user_id == User.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .correlate(User)
        .scalar_subquery()
    )


def row_of(user: User, grant: GroupGrant | None, expires: dt.datetime | None) -> PortalUserRow:
    """Only an INVITED user has a pending invitation worth showing."""
    pending = expires if user.status is UserStatus.INVITED else None
    return PortalUserRow(user=user, grant=grant, invitation_expires_at=pending)


def _grants(principal: Principal, group_ids: Sequence[int], flt: PortalUserFilter) -> Select[Any]:
    stmt = (
        select(GroupGrant.id.label("grant_id"))
        .join(User, User.id == GroupGrant.user_id)
        .where(
            GroupGrant.group_id.in_(group_ids),
            _managed(principal, GroupGrant.group_id),
            not_internal(),
        )
    )
    if flt.statuses:
        stmt = stmt.where(User.status.in_(flt.statuses))
    return stmt


def _after(stmt: Select[Any], page: PageRequest) -> Select[Any]:
    if page.after is None:
        return stmt
    email_key, user_id = decode_cursor(page.after, CURSOR_TYPES)
    return stmt.where(tuple_(User.email_key, User.id) > tuple_(email_key, user_id))


def _cursor_key(row: PortalUserRow) -> list[Any]:
    return [row.user.email_key, row.user.id]


async def portal_user_pages(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    flt: PortalUserFilter,
    page: PageRequest,
) -> dict[int, Page[PortalUserRow]]:
    """The same page (by email) of each group's users, for all groups in one statement."""
    rank = func.row_number().over(
        partition_by=GroupGrant.group_id, order_by=(User.email_key, User.id)
    )
    ranked = _after(_grants(principal, group_ids, flt), page).add_columns(rank.label("rank"))
    ranks = ranked.subquery()
    stmt = (
        select(GroupGrant, User, invitation_expiry())
        .join(User, User.id == GroupGrant.user_id)
        .join(ranks, ranks.c.grant_id == GroupGrant.id)
        .where(ranks.c.rank <= page.first + 1)
        .order_by(GroupGrant.group_id, ranks.c.rank)
    )
    found: dict[int, list[PortalUserRow]] = defaultdict(list)
    for grant, user, expires in await session.execute(stmt):
        found[grant.group_id].append(row_of(user, grant, expires))
    return {gid: finish_page(rows, page, _cursor_key) for gid, rows in found.items()}


async def count_portal_users(
    session: AsyncSession,
    principal: Principal,
    *,
    group_ids: Sequence[int],
    flt: PortalUserFilter,
) -> dict[int, int]:
    """How many users of each group match ``flt``."""
    grants = _grants(principal, group_ids, flt).add_columns(GroupGrant.group_id).subquery()
    stmt = select(grants.c.group_id, func.count()).group_by(grants.c.group_id)
    return {int(group_id): int(count) for group_id, count in (await session.execute(stmt)).all()}


async def portal_users_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, PortalUserRow]:
    """Users with a grant on a group the caller manages (``node(id:)``), without a grant."""
    granted = exists().where(
        GroupGrant.user_id == User.id, _managed(principal, GroupGrant.group_id)
    )
    stmt = select(User, invitation_expiry()).where(User.id.in_(ids), granted, not_internal())
    return {user.id: row_of(user, None, expires) for user, expires in await session.execute(stmt)}


async def portal_user_in_group(
    session: AsyncSession, *, group_id: int, user_id: int
) -> PortalUserRow | None:
    """A non-internal user granted ``group_id``: for a service that has already established
    the caller's authority over that group (``web_access_rules.authority_over``)."""
    stmt = (
        select(GroupGrant, User, invitation_expiry())
        .join(User, User.id == GroupGrant.user_id)
        .where(GroupGrant.group_id == group_id, User.id == user_id, not_internal())
    )
    found = (await session.execute(stmt)).first()
    return None if found is None else row_of(found[1], found[0], found[2])
