"""A benefit leader of group A reaches nothing of group B by any path, and B's objects are
indistinguishable from objects that do not exist (SPEC §3)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES
from db.models import GroupGrant
from tests.helpers import Tokens, global_id, graphql, graphql_ok

# viewer@demo.test is granted G100001 only; G100002 is "group B".
OWN, OTHER = "G100001", "G100002"

IDS = """
query ($number: String!) { group(groupNumber: $number) { id
  members(first: 3) { edges { node { id memberId } } } } }
"""
NODE = "query ($id: ID!) { node(id: $id) { id ... on Member { memberId } ... on Group { name } } }"
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }"


@pytest.fixture
async def other_group_ids(client: httpx.AsyncClient) -> dict[str, Any]:
    """Global IDs of group B and its members, as a rep sees them."""
    group: dict[str, Any] = graphql_ok(await graphql(client, IDS, {"number": OTHER}))["group"]
    return group


@pytest.fixture
async def viewer_token(tokens: Tokens) -> str:
    return await tokens.for_user("viewer@demo.test", ALL_SCOPES)


async def test_group_b_by_number_is_null_like_a_missing_group(
    anonymous: httpx.AsyncClient, viewer_token: str
) -> None:
    query = "query ($n: String!) { group(groupNumber: $n) { name } }"
    other = await graphql(anonymous, query, {"n": OTHER}, token=viewer_token)
    missing = await graphql(anonymous, query, {"n": "G999999"}, token=viewer_token)
    assert other.json() == missing.json() == {"data": {"group": None}}


async def test_group_b_and_its_members_by_global_id_are_null(
    anonymous: httpx.AsyncClient, viewer_token: str, other_group_ids: dict[str, Any]
) -> None:
    member_ids = [edge["node"]["id"] for edge in other_group_ids["members"]["edges"]]
    for node_id in [other_group_ids["id"], *member_ids]:
        other = await graphql(anonymous, NODE, {"id": node_id}, token=viewer_token)
        assert other.json() == {"data": {"node": None}}
    missing = await graphql(
        anonymous, NODE, {"id": global_id("Member", 99999999)}, token=viewer_token
    )
    assert missing.json() == {"data": {"node": None}}


async def test_nodes_hides_group_b_among_visible_ids(
    anonymous: httpx.AsyncClient, viewer_token: str, other_group_ids: dict[str, Any]
) -> None:
    own = graphql_ok(await graphql(anonymous, IDS, {"number": OWN}, token=viewer_token))["group"]
    ids = [own["id"], other_group_ids["id"]]
    nodes = graphql_ok(await graphql(anonymous, NODES, {"ids": ids}, token=viewer_token))["nodes"]
    assert nodes == [{"id": own["id"]}, None]


async def test_members_of_b_are_not_reachable_through_a_member_of_a(
    anonymous: httpx.AsyncClient, viewer_token: str
) -> None:
    query = """{ group(groupNumber: "G100001") { members(first: 100) { edges { node {
        group { groupNumber } subscriber { group { groupNumber } }
        dependents { group { groupNumber } } } } } } }"""
    data = graphql_ok(await graphql(anonymous, query, token=viewer_token))
    numbers = set()
    for edge in data["group"]["members"]["edges"]:
        node = edge["node"]
        numbers.add(node["group"]["groupNumber"])
        numbers |= {d["group"]["groupNumber"] for d in node["dependents"]}
        if node["subscriber"]:
            numbers.add(node["subscriber"]["group"]["groupNumber"])
    assert numbers == {OWN}


async def test_removing_a_grant_takes_effect_on_the_next_request(
    anonymous: httpx.AsyncClient, viewer_token: str, tokens: Tokens, connection: AsyncConnection
) -> None:
    query = '{ group(groupNumber: "G100001") { name } }'
    assert graphql_ok(await graphql(anonymous, query, token=viewer_token))["group"]
    user_id = await tokens.user_id("viewer@demo.test")
    await connection.execute(delete(GroupGrant).where(GroupGrant.user_id == user_id))
    assert graphql_ok(await graphql(anonymous, query, token=viewer_token))["group"] is None
