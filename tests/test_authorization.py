"""SPEC §3: a request may do what both its token's scopes and its user's roles allow, and a
benefit leader only ever sees the groups granted to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import (
    ALL_SCOPES,
    AUDIT_READ,
    ELIGIBILITY_READ,
    GROUP_READ,
)
from tests.helpers import Tokens, graphql
from tests.test_eligibility_changes import group_gid

EVERYTHING = ALL_SCOPES
READ_ONLY = {GROUP_READ}


@dataclass(frozen=True)
class Actor:
    """Who calls: a demo user (or internal client) and the scopes their token carries."""

    name: str
    user: str | None = None
    client: str | None = None
    scopes: frozenset[str] = EVERYTHING


ACTORS = {
    actor.name: actor
    for actor in (
        Actor("leader", user="leader@demo.test"),
        Actor("viewer", user="viewer@demo.test"),
        Actor("billing-only", user="billing@demo.test"),
        Actor("rep", user="rep@demo.test"),
        Actor("support", user="support@demo.test"),
        Actor("admin", user="admin@demo.test"),
        Actor(
            "leader-token-without-eligibility", user="leader@demo.test", scopes=frozenset(READ_ONLY)
        ),
        Actor(
            "claims-system",
            client="claims-system",
            scopes=frozenset({GROUP_READ, ELIGIBILITY_READ}),
        ),
        Actor(
            "edi-asking-audit", client="edi-operations", scopes=frozenset({GROUP_READ, AUDIT_READ})
        ),
    )
}

# Mutations are sent with input a permitted caller gets a userError for (or a harmless
# change, rolled back with the test): the matrix is about the gate, not the business rule.
# `$g` is the global ID of G100001.
OPERATIONS = {
    "groups": ("{ groups { totalCount } }", ["groups"]),
    "own group": ('{ group(groupNumber: "G100001") { name } }', ["group"]),
    "other group": ('{ group(groupNumber: "G100003") { name } }', ["group"]),
    "roster": (
        '{ group(groupNumber: "G100001") { members(first: 1) { totalCount } } }',
        ["group", "members"],
    ),
    "second group roster": (
        '{ group(groupNumber: "G100002") { members(first: 1) { totalCount } } }',
        ["group", "members"],
    ),
    "audit": ("{ auditEvents(first: 1) { totalCount } }", ["auditEvents"]),
    "viewer": ("{ viewer { subject } }", ["viewer"]),
    "review queue": (
        "{ eligibilityReviewQueue(first: 1) { totalCount } }",
        ["eligibilityReviewQueue"],
    ),
    "submit changes": (
        "mutation($g: ID!) { eligibilityChangesSubmit(input: {groupId: $g, "
        'idempotencyKey: "", changes: []}) { userErrors { code } } }',
        ["eligibilityChangesSubmit"],
    ),
    "create group": (
        'mutation { groupCreate(input: {groupNumber: "bad", name: "", billingMode: LIST_BILL, '
        'effectiveDate: "2027-01-02", address: {line1: "1 Main St", city: "Town", '
        'state: "OH", postalCode: "43004"}}) { userErrors { code } } }',
        ["groupCreate"],
    ),
    "invite group user": (
        'mutation($g: ID!) { groupUserInvite(input: {groupId: $g, email: "not-an-email", '
        'name: "", access: {billing: VIEW, eligibility: NONE}}) { userErrors { code } } }',
        ["groupUserInvite"],
    ),
}

OK, NULL, FORBIDDEN = "ok", "null", "forbidden"
Y, N, X = OK, NULL, FORBIDDEN  # yes, null (as if absent), refused
# One row per actor; columns in the order of OPERATIONS. Reps provision web access with
# webAccessProvision; inviting a group's users (users:manage) is the group admin's.
MATRIX = {
    # groups, own group, other group, roster, second group roster, audit, viewer,
    # review queue, submit changes, create group, invite group user
    "leader": (Y, Y, N, Y, Y, X, Y, X, Y, X, Y),
    "viewer": (Y, Y, N, Y, N, X, Y, X, X, X, X),
    "billing-only": (Y, Y, N, X, N, X, Y, X, X, X, X),
    "rep": (Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, X),
    "support": (Y, Y, Y, X, X, X, Y, X, X, X, X),
    "admin": (Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y),
    "leader-token-without-eligibility": (Y, Y, N, X, X, X, Y, X, X, X, X),
    "claims-system": (Y, Y, Y, Y, Y, X, Y, X, X, X, X),
    "edi-asking-audit": (Y, Y, Y, X, X, X, Y, X, X, X, X),
}

CASES = [
    pytest.param(actor, operation, MATRIX[actor][index], id=f"{actor}-{operation}")
    for actor in MATRIX
    for index, operation in enumerate(OPERATIONS)
]


async def _token(tokens: Tokens, actor: Actor) -> str:
    if actor.user is not None:
        return await tokens.for_user(actor.user, actor.scopes)
    assert actor.client is not None
    return tokens.for_client(actor.client, actor.scopes)


def _outcome(body: dict[str, Any], path: list[str]) -> str:
    codes = {error.get("extensions", {}).get("code") for error in body.get("errors") or []}
    if "FORBIDDEN" in codes:
        return FORBIDDEN
    assert not codes, body
    value: Any = body["data"]
    for key in path:
        if value is None:
            return NULL
        value = value[key]
    return NULL if value is None else OK


@pytest.mark.parametrize(("actor", "operation", "expected"), CASES)
async def test_scope_and_role_matrix(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    actor: str,
    operation: str,
    expected: str,
) -> None:
    # given a token for the actor
    token = await _token(tokens, ACTORS[actor])
    query, path = OPERATIONS[operation]
    variables = {"g": await group_gid(connection)} if "$g" in query else None
    # when it runs the operation
    response = await graphql(anonymous, query, variables, token=token)
    # then the outcome is the matrix's
    assert response.status_code == 200
    assert _outcome(response.json(), path) == expected


async def test_groups_list_shows_a_leader_only_their_groups(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = await tokens.for_user("leader@demo.test", EVERYTHING)
    query = "{ groups(first: 100) { totalCount edges { node { groupNumber } } } }"
    response = await graphql(anonymous, query, token=token)
    groups = response.json()["data"]["groups"]
    assert groups["totalCount"] == 2
    assert [e["node"]["groupNumber"] for e in groups["edges"]] == ["G100001", "G100002"]


async def test_viewer_reports_effective_scopes_and_grants(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = await tokens.for_user("viewer@demo.test", EVERYTHING)
    query = (
        "{ viewer { email roles scopes grants { group { groupNumber } "
        "billingAccess eligibilityAccess groupAdmin } } }"
    )
    response = await graphql(anonymous, query, token=token)
    viewer = response.json()["data"]["viewer"]
    assert viewer["email"] == "viewer@demo.test"
    assert viewer["roles"] == []
    assert viewer["scopes"] == ["access:report", "billing:read", "eligibility:read", "group:read"]
    assert viewer["grants"] == [
        {
            "group": {"groupNumber": "G100001"},
            "billingAccess": "VIEW",
            "eligibilityAccess": "VIEW",
            "groupAdmin": False,
        }
    ]
