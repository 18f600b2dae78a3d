"""``viewer``: who the caller is and what they may do."""

from __future__ import annotations

import strawberry

from api.schema.groups import Group
from db.models import AccessLevel, Role, User

strawberry.enum(Role, description="Internal roles: group-accounts rep, access support, admin.")
strawberry.enum(
    AccessLevel, description="A benefit leader's access to an area of a group: NONE, VIEW, MANAGE."
)


@strawberry.type(description="A benefit leader's access to one group.")
class ViewerGrant:
    group: Group = strawberry.field(description="The group.")
    billing_access: AccessLevel = strawberry.field(description="Access to billing.")
    eligibility_access: AccessLevel = strawberry.field(description="Access to eligibility.")
    group_admin: bool = strawberry.field(description="May manage the group's portal users.")


@strawberry.type(description="The caller: a signed-in user or an internal system.")
class Viewer:
    subject: str = strawberry.field(description="`user:<n>` or `client:<client id>`.")
    client_id: str | None = strawberry.field(description="The OAuth client of the token.")
    email: str | None = strawberry.field(description="The user's sign-in email.")
    name: str | None = strawberry.field(description="The user's name.")
    roles: list[Role] = strawberry.field(description="Internal roles, if any.")
    scopes: list[str] = strawberry.field(
        description="Effective scopes: those of the token that the roles and grants allow."
    )
    grants: list[ViewerGrant] = strawberry.field(description="Per-group access, for leaders.")


async def resolve_viewer(info: strawberry.Info) -> Viewer:
    ctx = info.context
    principal = ctx.principal
    user = None if principal.user_id is None else await ctx.session.get(User, principal.user_id)
    groups = await ctx.loaders.group.load_many(list(principal.grants))
    grants = [
        ViewerGrant(
            group=Group.from_row(group),
            billing_access=principal.grants[group.id].billing,
            eligibility_access=principal.grants[group.id].eligibility,
            group_admin=principal.grants[group.id].group_admin,
        )
        for group in groups
        if group is not None
    ]
    return Viewer(
        subject=principal.subject,
        client_id=principal.client_id,
        email=None if user is None else user.email,
        name=None if user is None else user.name,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        grants=grants,
    )
