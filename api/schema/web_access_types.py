"""Portal users as the API shows them (SPEC §2 Web access): the people who sign in for a
group, their status, last sign-in, pending invitation and access to the group.

Visible to representatives and to the admins of the user's groups only: ``node(id:)``
goes through the scoped ``portal_user`` loader and ``Group.portalUsers`` is declared with
``manages_portal_users()`` and scoped again in SQL (``db.queries.portal_users``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from api.schema.connections import CountedConnection, build_connection
from api.schema.nodes import load_nodes
from db.models import UserStatus
from db.queries.paging import PageRequest
from db.queries.portal_users import PortalUserFilter, PortalUserRow

if TYPE_CHECKING:
    from db.models import AccessLevel

# Registered (with its description) by ``api.schema.viewer``; referenced lazily because
# this module is imported while ``viewer`` is still loading, and an eager reference would
# register a second, undescribed ``AccessLevel``.
AccessLevelType = Annotated["AccessLevel", strawberry.lazy("api.schema.viewer")]

strawberry.enum(
    UserStatus,
    description="INVITED: has not set a password yet. ACTIVE: can sign in. LOCKED: too many "
    "failed sign-ins, locked for a while. DISABLED: cannot sign in.",
)


@strawberry.type(description="A portal user's access to one group.")
class PortalUserAccess:
    billing: AccessLevelType = strawberry.field(
        description="Access to the group's bills, payments and balances."
    )
    eligibility: AccessLevelType = strawberry.field(
        description="Access to the group's roster and eligibility changes."
    )
    group_admin: bool = strawberry.field(
        description="May invite and manage the group's portal users, up to their own access."
    )


@strawberry.type(
    description="A person who signs in to the portal for one or more employer groups (a "
    "benefit leader). Internal staff are never portal users."
)
class PortalUser(relay.Node):
    pk: relay.NodeID[int]
    email: str = strawberry.field(description="Sign-in email address.")
    name: str = strawberry.field(description="The person's name.")
    status: UserStatus = strawberry.field(description="Whether the person can sign in.")
    last_sign_in_at: dt.datetime | None = strawberry.field(
        description="When the person last signed in (UTC); null if never."
    )
    invitation_expires_at: dt.datetime | None = strawberry.field(
        description="While INVITED: when the latest invitation link expires (UTC), possibly "
        "in the past (send a new one with invitationResend). Null otherwise."
    )
    access: PortalUserAccess | None = strawberry.field(
        description="Access to the group this user was reached through (`Group.portalUsers` "
        "or a web-access mutation's group); null when looked up with `node(id:)`, or after "
        "the access was removed."
    )

    @classmethod
    def from_row(cls, row: PortalUserRow) -> Self:
        grant = row.grant
        return cls(
            pk=row.user.id,
            email=row.user.email,
            name=row.user.name,
            status=row.user.status,
            last_sign_in_at=row.user.last_sign_in_at,
            invitation_expires_at=row.invitation_expires_at,
            access=None
            if grant is None
            else PortalUserAccess(
                billing=grant.billing_access,
                eligibility=grant.eligibility_access,
                group_admin=grant.group_admin,
            ),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.portal_user(), cls.from_row)


@strawberry.type(description="A page of a group's portal users, by email address.")
class PortalUserConnection(CountedConnection[PortalUser]):
    pass


async def group_portal_users(
    info: strawberry.Info,
    *,
    group_id: int,
    first: int,
    after: str | None,
    statuses: list[UserStatus] | None,
) -> PortalUserConnection:
    """A page of the group's portal users; through loaders, so a page of groups gets every
    group's users in one statement and ``totalCount`` is counted only when asked for."""
    loaders = info.context.loaders
    page_request = PageRequest(first=first, after=after)
    flt = PortalUserFilter(statuses=tuple(statuses) if statuses else None)
    page = await loaders.portal_user_pages(flt, page_request).load(group_id)

    async def count() -> int:
        total: int = await loaders.portal_user_counts(flt).load(group_id)
        return total

    return build_connection(PortalUserConnection, page, PortalUser.from_row, count)
