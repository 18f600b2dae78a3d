"""Web access over HTTP (SPEC §2 Web access): a rep provisions a group's benefit leader; a
group admin invites, changes and deactivates the group's own users, never beyond their own
access and never in another group; ``Group.portalUsers``; every mutation audited.

Demo users: leader@demo.test is admin of G100001 and G100002 (MANAGE/MANAGE);
viewer@demo.test has VIEW/VIEW on G100001 only and is not an admin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES, REP_GROUPS, USERS_MANAGE
from api.auth.principal import Grant, Principal
from api.services.web_access_rules import Access, authority_over, managed_group_ids
from db.models import (
    AccessLevel,
    AuditEvent,
    AuditOutcome,
    Group,
    GroupGrant,
    Invitation,
    OutboundEmail,
    SignInSession,
    TokenFamily,
    User,
    UserStatus,
)
from tests.helpers import StatementCounter, Tokens, global_id, graphql, graphql_ok

USER_FIELDS = """
  id email name status lastSignInAt invitationExpiresAt
  access { billing eligibility groupAdmin }
"""
PROVISION = f"""
mutation ($input: WebAccessProvisionInput!) {{
  webAccessProvision(input: $input) {{
    user {{ {USER_FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""
INVITE = f"""
mutation ($input: GroupUserInviteInput!) {{
  groupUserInvite(input: $input) {{ user {{ {USER_FIELDS} }} userErrors {{ field message code }} }}
}}
"""
ACCESS_UPDATE = f"""
mutation ($input: GroupUserAccessUpdateInput!) {{
  groupUserAccessUpdate(input: $input) {{
    user {{ {USER_FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""
DEACTIVATE = f"""
mutation ($input: GroupUserDeactivateInput!) {{
  groupUserDeactivate(input: $input) {{
    user {{ {USER_FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""
RESEND = f"""
mutation ($input: InvitationResendInput!) {{
  invitationResend(input: $input) {{ user {{ {USER_FIELDS} }} userErrors {{ field message code }} }}
}}
"""
PORTAL_USERS = f"""
query ($number: String!, $first: Int!, $after: String, $status: [UserStatus!]) {{
  group(groupNumber: $number) {{
    portalUsers(first: $first, after: $after, status: $status) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{ {USER_FIELDS} }} }}
    }}
  }}
}}
"""
NODE = "query ($id: ID!) { node(id: $id) { ... on PortalUser { email status } } }"
FULL = {"billing": "MANAGE", "eligibility": "MANAGE", "groupAdmin": False}
VIEW_ONLY = {"billing": "VIEW", "eligibility": "VIEW", "groupAdmin": False}
LINK = re.compile(r"(\S+/invitations/accept\?token=([A-Za-z0-9_\-]+))")
LEADER, VIEWER, REP = "leader@demo.test", "viewer@demo.test", "rep@demo.test"


# --- helpers ----------------------------------------------------------------------------


async def group_pk(connection: AsyncConnection, number: str) -> int:
    pk = await connection.scalar(select(Group.id).where(Group.group_number == number))
    assert pk is not None
    return int(pk)


async def group_gid(connection: AsyncConnection, number: str) -> str:
    return global_id("Group", await group_pk(connection, number))


def invite_input(group_id: str, email: str, access: dict[str, Any] = FULL) -> dict[str, Any]:
    return {"groupId": group_id, "email": email, "name": "Pat Newleader", "access": access}


async def as_user(tokens: Tokens, email: str) -> str:
    return await tokens.for_user(email, ALL_SCOPES)


async def mutate(
    client: httpx.AsyncClient, query: str, field: str, payload: dict[str, Any], token: str = ""
) -> dict[str, Any]:
    """The mutation's payload (``token`` as the caller, else the client's rep)."""
    data = graphql_ok(await graphql(client, query, {"input": payload}, token=token or None))
    result: dict[str, Any] = data[field]
    return result


def codes(result: dict[str, Any]) -> list[str]:
    return [error["code"] for error in result["userErrors"]]


async def provision(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    number: str,
    email: str,
    access: dict[str, Any] = FULL,
) -> dict[str, Any]:
    """A rep provisions ``email`` on group ``number``; returns the new user."""
    gid = await group_gid(connection, number)
    result = await mutate(client, PROVISION, "webAccessProvision", invite_input(gid, email, access))
    assert result["userErrors"] == []
    user: dict[str, Any] = result["user"]
    return user


async def invitation_link(connection: AsyncConnection, email: str) -> tuple[str, str]:
    """The latest invitation email's link and token, as the outbox recorded it."""
    body = await connection.scalar(
        select(OutboundEmail.body_text)
        .where(OutboundEmail.to_address == email, OutboundEmail.kind == "invitation")
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    )
    assert body is not None
    match = LINK.search(body)
    assert match, body
    return match.group(1), match.group(2)


async def user_id(connection: AsyncConnection, email: str) -> int:
    found = await connection.scalar(select(User.id).where(User.email_key == email))
    assert found is not None
    return int(found)


async def audited(connection: AsyncConnection, action: str, target_id: str | None = None) -> int:
    stmt = select(func.count()).where(AuditEvent.action == action)
    if target_id is not None:
        stmt = stmt.where(AuditEvent.target_id == target_id)
    return int(await connection.scalar(stmt) or 0)


async def counts(connection: AsyncConnection) -> tuple[int, ...]:
    """Rows of every table web access writes."""
    tables = (User, GroupGrant, Invitation, OutboundEmail)
    return tuple(
        [int(await connection.scalar(select(func.count()).select_from(t)) or 0) for t in tables]
    )


async def set_grant(connection: AsyncConnection, email: str, number: str, **values: Any) -> None:
    uid, gid = await user_id(connection, email), await group_pk(connection, number)
    await connection.execute(
        update(GroupGrant)
        .where(GroupGrant.user_id == uid, GroupGrant.group_id == gid)
        .values(**values)
    )


async def add_grant(connection: AsyncConnection, email: str, number: str, **values: Any) -> None:
    uid, gid = await user_id(connection, email), await group_pk(connection, number)
    await connection.execute(insert(GroupGrant).values(user_id=uid, group_id=gid, **values))


def gid_of_user(pk: int) -> str:
    return global_id("PortalUser", pk)


# --- a rep provisions -------------------------------------------------------------------


async def test_a_rep_provisions_a_benefit_leader_with_an_invitation_email(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    gid = await group_gid(connection, "G100003")
    access = {"billing": "MANAGE", "eligibility": "VIEW", "groupAdmin": True}
    before = dt.datetime.now(dt.UTC)

    # when
    result = await mutate(
        client, PROVISION, "webAccessProvision", invite_input(gid, "Pat@Acme.example", access)
    )

    # then the user is INVITED with that access and a 7-day link
    assert result["userErrors"] == []
    user = result["user"]
    assert user["email"] == "Pat@Acme.example"
    assert user["status"] == "INVITED"
    assert user["lastSignInAt"] is None
    assert user["access"] == access
    expires = dt.datetime.fromisoformat(user["invitationExpiresAt"])
    assert dt.timedelta(days=7) <= expires - before < dt.timedelta(days=7, minutes=1)
    # and the database has no password, a grant and a hashed token that the email carries
    row = (await connection.execute(select(User).where(User.email_key == "pat@acme.example"))).one()
    assert row.password_hash is None
    link, token = await invitation_link(connection, "Pat@Acme.example")
    assert link.startswith("http://127.0.0.1:8000/invitations/accept?token=")
    assert len(token) >= 43
    stored = await connection.scalar(
        select(Invitation.token_hash).where(Invitation.user_id == row.id)
    )
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert await audited(connection, "webAccess.provision", str(row.id)) == 1


async def test_provisioning_someone_who_has_an_account_adds_the_group_without_a_link(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    user = await provision(client, connection, "G100003", LEADER, VIEW_ONLY)

    assert user["status"] == "ACTIVE"
    assert user["access"] == VIEW_ONLY
    assert user["invitationExpiresAt"] is None
    kinds = await connection.scalars(
        select(OutboundEmail.kind).where(OutboundEmail.to_address == LEADER)
    )
    assert list(kinds) == ["access_granted"]
    uid = await user_id(connection, LEADER)
    assert await connection.scalar(select(func.count()).where(Invitation.user_id == uid)) == 0


@pytest.mark.parametrize(
    ("email", "name", "access", "code", "field"),
    [
        ("not-an-email", "Pat", FULL, "INVALID_EMAIL", ["email"]),
        ("two@a.example,three@b.example", "Pat", FULL, "INVALID_EMAIL", ["email"]),
        ("pat@acme.example", "   ", FULL, "INVALID_NAME", ["name"]),
        (
            "pat@acme.example",
            "Pat",
            {"billing": "NONE", "eligibility": "NONE"},
            "NO_ACCESS_GIVEN",
            ["access"],
        ),
        ("support@demo.test", "Sam", FULL, "EMAIL_NOT_AVAILABLE", ["email"]),
        ("VIEWER@demo.test", "Victor", FULL, "ALREADY_HAS_ACCESS", ["email"]),
    ],
)
async def test_bad_input_is_a_user_error_and_nothing_is_saved(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    email: str,
    name: str,
    access: dict[str, Any],
    code: str,
    field: list[str],
) -> None:
    # given
    gid = await group_gid(connection, "G100001")
    before = await counts(connection)

    # when
    payload = {"groupId": gid, "email": email, "name": name, "access": access}
    result = await mutate(client, PROVISION, "webAccessProvision", payload)

    # then
    assert result["user"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)]
    assert all(e["message"] for e in result["userErrors"])
    assert await counts(connection) == before
    assert await audited(connection, "webAccess.provision") == 0


async def test_an_unknown_access_level_is_refused_before_anything_runs(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # An enum is checked by GraphQL validation: a malformed request, a top-level error.
    gid = await group_gid(connection, "G100001")
    before = await counts(connection)
    access = {"billing": "ADMIN", "eligibility": "VIEW"}
    payload = invite_input(gid, "pat@acme.example", access)

    response = await graphql(client, PROVISION, {"input": payload})

    assert "ADMIN" in response.json()["errors"][0]["message"]
    assert await counts(connection) == before


async def test_an_unknown_group_is_a_user_error(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    for gid in (global_id("Group", 999_999), global_id("Member", 1)):
        payload = invite_input(gid, "pat@acme.example")
        result = await mutate(client, PROVISION, "webAccessProvision", payload)
        assert codes(result) == ["GROUP_NOT_FOUND"]


# --- a group admin invites and manages --------------------------------------------------


async def test_a_group_admin_invites_into_their_own_group(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    gid = await group_gid(connection, "G100002")
    token = await as_user(tokens, LEADER)
    access = {"billing": "VIEW", "eligibility": "MANAGE", "groupAdmin": True}

    result = await mutate(
        anonymous, INVITE, "groupUserInvite", invite_input(gid, "new@acme.example", access), token
    )

    assert result["userErrors"] == []
    assert result["user"]["status"] == "INVITED"
    assert result["user"]["access"] == access
    new_id = await user_id(connection, "new@acme.example")
    invited_by = await connection.scalar(
        select(Invitation.invited_by_user_id).where(Invitation.user_id == new_id)
    )
    assert invited_by == await user_id(connection, LEADER)
    assert await audited(connection, "groupUser.invite", str(new_id)) == 1


async def test_a_group_admin_cannot_give_more_than_they_hold(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given an admin of G100001 who can only view billing
    await set_grant(connection, LEADER, "G100001", billing_access=AccessLevel.VIEW)
    gid = await group_gid(connection, "G100001")
    token = await as_user(tokens, LEADER)
    before = await counts(connection)

    # when they invite with billing MANAGE, or raise the viewer to it
    invite = await mutate(
        anonymous, INVITE, "groupUserInvite", invite_input(gid, "pat@acme.example"), token
    )
    viewer = gid_of_user(await user_id(connection, VIEWER))
    update_input = {"groupId": gid, "userId": viewer, "access": FULL}
    raised = await mutate(anonymous, ACCESS_UPDATE, "groupUserAccessUpdate", update_input, token)

    # then both are refused and nothing changed
    assert [(e["code"], e["field"]) for e in invite["userErrors"]] == [
        ("ABOVE_YOUR_ACCESS", ["access"])
    ]
    assert codes(raised) == ["ABOVE_YOUR_ACCESS"]
    assert await counts(connection) == before
    level = await connection.scalar(
        select(GroupGrant.billing_access).where(
            GroupGrant.user_id == await user_id(connection, VIEWER)
        )
    )
    assert level is AccessLevel.VIEW


async def test_a_group_admin_cannot_touch_a_user_with_more_access_than_theirs(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    await set_grant(connection, LEADER, "G100001", billing_access=AccessLevel.VIEW)
    await set_grant(connection, VIEWER, "G100001", billing_access=AccessLevel.MANAGE)
    gid = await group_gid(connection, "G100001")
    viewer = gid_of_user(await user_id(connection, VIEWER))
    token = await as_user(tokens, LEADER)

    result = await mutate(
        anonymous, DEACTIVATE, "groupUserDeactivate", {"groupId": gid, "userId": viewer}, token
    )

    assert codes(result) == ["ABOVE_YOUR_ACCESS"]


async def test_a_group_admin_changes_a_users_access(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    gid = await group_gid(connection, "G100001")
    viewer_pk = await user_id(connection, VIEWER)
    token = await as_user(tokens, LEADER)
    access = {"billing": "MANAGE", "eligibility": "NONE", "groupAdmin": True}

    payload = {"groupId": gid, "userId": gid_of_user(viewer_pk), "access": access}
    result = await mutate(anonymous, ACCESS_UPDATE, "groupUserAccessUpdate", payload, token)

    assert result["userErrors"] == []
    assert result["user"]["access"] == access
    assert result["user"]["status"] == "ACTIVE"
    assert await audited(connection, "groupUser.accessUpdate", str(viewer_pk)) == 1


async def test_another_groups_users_are_indistinguishable_from_nonexistent_ones(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    # given a user of G100003, a group the leader does not administer (or see)
    other = await provision(client, connection, "G100003", "other@acme.example")
    own_group, other_group = (
        await group_gid(connection, "G100001"),
        await group_gid(connection, "G100003"),
    )
    token = await as_user(tokens, LEADER)
    before = await counts(connection)

    async def deactivate(group: str, user: str) -> dict[str, Any]:
        payload = {"groupId": group, "userId": user}
        return await mutate(anonymous, DEACTIVATE, "groupUserDeactivate", payload, token)

    # when the leader aims at the other group, or at its user through their own group
    via_other_group = await deactivate(other_group, other["id"])
    via_nonexistent_group = await deactivate(global_id("Group", 999_999), other["id"])
    via_own_group = await deactivate(own_group, other["id"])
    nonexistent_user = await deactivate(own_group, gid_of_user(999_999))

    # then the answers are the same as for things that do not exist
    assert via_other_group == via_nonexistent_group
    assert codes(via_other_group) == ["GROUP_NOT_FOUND"]
    assert via_own_group == nonexistent_user
    assert codes(via_own_group) == ["USER_NOT_FOUND"]
    assert await counts(connection) == before


async def test_internal_users_are_never_managed_here(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given a rep who, oddly, also holds a grant on the leader's group
    await add_grant(connection, REP, "G100001", billing_access=AccessLevel.VIEW)
    gid = await group_gid(connection, "G100001")
    rep = gid_of_user(await user_id(connection, REP))
    token = await as_user(tokens, LEADER)

    deactivated = await mutate(
        anonymous, DEACTIVATE, "groupUserDeactivate", {"groupId": gid, "userId": rep}, token
    )
    invited = await mutate(
        anonymous, INVITE, "groupUserInvite", invite_input(gid, REP, VIEW_ONLY), token
    )
    listed = graphql_ok(
        await graphql(anonymous, PORTAL_USERS, {"number": "G100001", "first": 50}, token=token)
    )

    assert codes(deactivated) == ["USER_NOT_FOUND"]
    assert codes(invited) == ["EMAIL_NOT_AVAILABLE"]
    emails = [edge["node"]["email"] for edge in listed["group"]["portalUsers"]["edges"]]
    assert REP not in emails
    assert (
        await connection.scalar(select(User.status).where(User.email_key == REP))
        is UserStatus.ACTIVE
    )


async def test_admins_cannot_change_or_deactivate_themselves(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    gid = await group_gid(connection, "G100001")
    me = gid_of_user(await user_id(connection, LEADER))
    token = await as_user(tokens, LEADER)

    deactivated = await mutate(
        anonymous, DEACTIVATE, "groupUserDeactivate", {"groupId": gid, "userId": me}, token
    )
    changed = await mutate(
        anonymous,
        ACCESS_UPDATE,
        "groupUserAccessUpdate",
        {"groupId": gid, "userId": me, "access": VIEW_ONLY},
        token,
    )

    assert codes(deactivated) == ["CANNOT_CHANGE_YOURSELF"]
    assert codes(changed) == ["CANNOT_CHANGE_YOURSELF"]


# --- who may call -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (INVITE, {"email": "pat@acme.example", "name": "Pat", "access": VIEW_ONLY}),
        (DEACTIVATE, {"userId": global_id("PortalUser", 1)}),
        (ACCESS_UPDATE, {"userId": global_id("PortalUser", 1), "access": VIEW_ONLY}),
        (RESEND, {"userId": global_id("PortalUser", 1)}),
        (PROVISION, {"email": "pat@acme.example", "name": "Pat", "access": VIEW_ONLY}),
    ],
)
async def test_a_user_who_is_not_an_admin_is_forbidden(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    query: str,
    variables: dict[str, Any],
) -> None:
    # viewer@demo.test is no group's admin, so their token has no users:manage at all
    gid = await group_gid(connection, "G100001")
    token = await as_user(tokens, VIEWER)
    before = await counts(connection)

    response = await graphql(
        anonymous, query, {"input": {"groupId": gid, **variables}}, token=token
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await counts(connection) == before
    denied = await connection.scalar(
        select(func.count()).where(
            AuditEvent.outcome == AuditOutcome.DENIED, AuditEvent.action.startswith("denied:")
        )
    )
    assert denied == 1


async def test_an_admin_of_one_group_is_forbidden_in_a_group_they_only_view(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given the viewer becomes admin of G100002 but still only views G100001
    await add_grant(connection, VIEWER, "G100002", group_admin=True)
    gid = await group_gid(connection, "G100001")
    token = await as_user(tokens, VIEWER)

    invite = await graphql(
        anonymous, INVITE, {"input": invite_input(gid, "pat@acme.example", VIEW_ONLY)}, token=token
    )
    listing = await graphql(anonymous, PORTAL_USERS, {"number": "G100001", "first": 5}, token=token)

    assert invite.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert invite.json()["data"] is None
    assert listing.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await audited(connection, "denied:Mutation.groupUserInvite") == 1


async def test_reps_provision_rather_than_invite(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # groupUserInvite is the group admins' own mutation (users:manage), not the rep's
    gid = await group_gid(connection, "G100001")

    response = await graphql(client, INVITE, {"input": invite_input(gid, "pat@acme.example")})

    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- deactivation and resending ---------------------------------------------------------


async def test_deactivating_a_users_last_group_disables_them_and_ends_their_sessions(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given the viewer, signed in somewhere, with a live token family
    viewer_pk = await user_id(connection, VIEWER)
    now = dt.datetime.now(dt.UTC)
    await connection.execute(
        insert(SignInSession).values(
            token_hash="a" * 64,
            user_id=viewer_pk,
            csrf_token="b" * 64,
            password_passed_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=1),
        )
    )
    await connection.execute(
        insert(TokenFamily).values(
            family_key="f" * 32,
            client_id="portal-web",
            user_id=viewer_pk,
            scope="group:read",
            created_at=now,
            expires_at=now + dt.timedelta(hours=1),
        )
    )
    viewer_token = await as_user(tokens, VIEWER)
    gid = await group_gid(connection, "G100001")
    token = await as_user(tokens, LEADER)

    # when the leader removes the viewer from G100001, their only group
    payload = {"groupId": gid, "userId": gid_of_user(viewer_pk)}
    result = await mutate(anonymous, DEACTIVATE, "groupUserDeactivate", payload, token)

    # then
    assert result["userErrors"] == []
    assert result["user"]["status"] == "DISABLED"
    assert result["user"]["access"] is None
    assert (
        await connection.scalar(
            select(func.count()).where(
                SignInSession.user_id == viewer_pk, SignInSession.ended_at.is_(None)
            )
        )
        == 0
    )
    assert (
        await connection.scalar(
            select(func.count()).where(
                TokenFamily.user_id == viewer_pk, TokenFamily.revoked_at.is_(None)
            )
        )
        == 0
    )
    response = await graphql(anonymous, "{ viewer { email } }", token=viewer_token)
    assert response.status_code == 401
    assert await audited(connection, "groupUser.deactivate", str(viewer_pk)) == 1


async def test_deactivating_one_of_several_groups_keeps_the_user_active(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await provision(client, connection, "G100002", VIEWER, VIEW_ONLY)
    gid = await group_gid(connection, "G100001")
    viewer = gid_of_user(await user_id(connection, VIEWER))

    result = await mutate(
        client, DEACTIVATE, "groupUserDeactivate", {"groupId": gid, "userId": viewer}
    )

    assert result["userErrors"] == []
    assert result["user"]["status"] == "ACTIVE"
    assert result["user"]["access"] is None


async def test_a_disabled_user_can_be_invited_afresh(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    gid = await group_gid(connection, "G100001")
    viewer = gid_of_user(await user_id(connection, VIEWER))
    await mutate(client, DEACTIVATE, "groupUserDeactivate", {"groupId": gid, "userId": viewer})

    user = await provision(client, connection, "G100002", VIEWER, VIEW_ONLY)

    assert user["status"] == "INVITED"
    assert user["invitationExpiresAt"] is not None


async def test_resending_replaces_the_link(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given an invited user
    user = await provision(client, connection, "G100003", "pat@acme.example")
    _link, first_token = await invitation_link(connection, "pat@acme.example")
    gid = await group_gid(connection, "G100003")

    # when
    result = await mutate(
        client, RESEND, "invitationResend", {"groupId": gid, "userId": user["id"]}
    )

    # then there is a new link and the old one is revoked
    assert result["userErrors"] == []
    _link, second_token = await invitation_link(connection, "pat@acme.example")
    assert second_token != first_token
    revoked = await connection.scalar(
        select(Invitation.revoked_at).where(
            Invitation.token_hash == hashlib.sha256(first_token.encode()).hexdigest()
        )
    )
    assert revoked is not None
    pk = await user_id(connection, "pat@acme.example")
    assert await audited(connection, "invitation.resend", str(pk)) == 1


async def test_only_invited_users_get_a_new_link(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    gid = await group_gid(connection, "G100001")
    viewer = gid_of_user(await user_id(connection, VIEWER))
    token = await as_user(tokens, LEADER)

    result = await mutate(
        anonymous, RESEND, "invitationResend", {"groupId": gid, "userId": viewer}, token
    )

    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("NOT_INVITED", ["userId"])]


# --- reading portal users ---------------------------------------------------------------


async def test_portal_users_show_status_and_last_sign_in_and_page_by_email(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given the seeded leader (signed in once), billing clerk and viewer, and a new invitee
    signed_in = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
    await connection.execute(
        update(User).where(User.email_key == LEADER).values(last_sign_in_at=signed_in)
    )
    await provision(client, connection, "G100001", "aaron@acme.example", VIEW_ONLY)
    variables: dict[str, Any] = {"number": "G100001", "first": 2}

    # when
    first = graphql_ok(await graphql(client, PORTAL_USERS, variables))["group"]["portalUsers"]
    variables["after"] = first["pageInfo"]["endCursor"]
    second = graphql_ok(await graphql(client, PORTAL_USERS, variables))["group"]["portalUsers"]
    invited = graphql_ok(
        await graphql(client, PORTAL_USERS, {**variables, "after": None, "status": ["INVITED"]})
    )["group"]["portalUsers"]

    # then
    nodes = [edge["node"] for edge in first["edges"] + second["edges"]]
    emails = ["aaron@acme.example", "billing@demo.test", LEADER, VIEWER]
    assert [node["email"] for node in nodes] == emails
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False
    aaron, _, leader, viewer = nodes
    assert aaron["status"] == "INVITED"
    assert aaron["invitationExpiresAt"] is not None
    assert leader["lastSignInAt"] == "2026-11-20T08:30:00+00:00"
    assert leader["access"] == {"billing": "MANAGE", "eligibility": "MANAGE", "groupAdmin": True}
    assert viewer["access"] == VIEW_ONLY
    assert viewer["lastSignInAt"] is None
    assert [edge["node"]["email"] for edge in invited["edges"]] == ["aaron@acme.example"]
    assert invited["totalCount"] == 1


async def test_portal_users_take_the_same_statements_whatever_the_page_size(
    client: httpx.AsyncClient, connection: AsyncConnection, statements: StatementCounter
) -> None:
    for n in range(6):
        await provision(client, connection, "G100001", f"user{n}@acme.example", VIEW_ONLY)
        await provision(client, connection, "G100002", f"user{n}@acme.example", VIEW_ONLY)
    query = """
    query ($groups: Int!, $users: Int!) {
      groups(first: $groups) { edges { node { portalUsers(first: $users) {
        totalCount
        edges { node { email status lastSignInAt invitationExpiresAt access { billing } } }
      } } } }
    }
    """

    async def statements_for(groups: int, users: int) -> int:
        statements.reset()
        graphql_ok(await graphql(client, query, {"groups": groups, "users": users}))
        return statements.count

    smallest = await statements_for(1, 1)
    assert await statements_for(2, 8) == smallest
    assert await statements_for(6, 100) == smallest


async def test_node_finds_portal_users_only_for_those_who_manage_them(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    other = await provision(client, connection, "G100003", "other@acme.example")
    viewer = gid_of_user(await user_id(connection, VIEWER))
    leader, viewer_token = await as_user(tokens, LEADER), await as_user(tokens, VIEWER)
    leader_id = gid_of_user(await user_id(connection, LEADER))

    async def node(node_id: str, token: str | None = None) -> Any:
        return graphql_ok(await graphql(anonymous, NODE, {"id": node_id}, token=token))["node"]

    assert await node(other["id"]) == {"email": "other@acme.example", "status": "INVITED"}
    assert await node(viewer, leader) == {"email": VIEWER, "status": "ACTIVE"}
    assert await node(other["id"], leader) is None
    assert await node(leader_id, viewer_token) is None


# --- the rules, directly ----------------------------------------------------------------


def _principal(*, internal: bool, scopes: set[str], grants: dict[int, Grant]) -> Principal:
    return Principal(
        subject="user:1", scopes=frozenset(scopes), internal=internal, user_id=1, grants=grants
    )


def test_who_has_authority_over_a_group_and_up_to_what() -> None:
    view, manage = AccessLevel.VIEW, AccessLevel.MANAGE
    admin_grant = Grant(group_id=7, billing=view, eligibility=manage, group_admin=True)
    plain_grant = Grant(group_id=8, billing=manage, eligibility=manage, group_admin=False)
    rep = _principal(internal=True, scopes={REP_GROUPS}, grants={})
    admin = _principal(
        internal=False, scopes={USERS_MANAGE}, grants={7: admin_grant, 8: plain_grant}
    )
    admin_without_scope = _principal(internal=False, scopes=set(), grants={7: admin_grant})

    rep_authority = authority_over(rep, 8)
    admin_authority = authority_over(admin, 7)

    assert rep_authority is not None
    assert rep_authority.covers(Access(manage, manage, group_admin=True))
    assert admin_authority is not None
    assert admin_authority.covers(Access(view, manage, group_admin=True))
    assert not admin_authority.covers(Access(manage, AccessLevel.NONE))
    assert authority_over(admin, 8) is None
    assert authority_over(admin, 9) is None
    assert authority_over(admin_without_scope, 7) is None
    assert managed_group_ids(rep) is None
    assert managed_group_ids(admin) == frozenset({7})
    assert managed_group_ids(admin_without_scope) == frozenset()
