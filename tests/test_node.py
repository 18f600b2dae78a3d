"""Relay global IDs: node(id:) and nodes(ids:)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import global_id, graphql, graphql_errors, graphql_ok

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Group { groupNumber }
    ... on Member { memberId group { groupNumber } subscriber { memberId } }
    ... on Plan { code }
  }
}
"""

NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"

FIRST_MEMBER = """
{ group(groupNumber: "G100001") { id plans { id code }
  members(first: 1, filter: {relationship: [CHILD]}) { edges { node { id memberId } } } } }
"""


async def test_every_node_type_round_trips_through_its_global_id(
    client: httpx.AsyncClient,
) -> None:
    # given the ids of a group, a plan and a member
    group = graphql_ok(await graphql(client, FIRST_MEMBER))["group"]
    child = group["members"]["edges"][0]["node"]
    # when each is fetched by id
    fetched = [
        graphql_ok(await graphql(client, NODE, {"id": node_id}))["node"]
        for node_id in (group["id"], group["plans"][0]["id"], child["id"])
    ]
    # then each comes back as itself
    assert [node["__typename"] for node in fetched] == ["Group", "Plan", "Member"]
    assert fetched[0]["groupNumber"] == "G100001"
    assert fetched[1]["code"] == group["plans"][0]["code"]
    assert fetched[2]["memberId"] == child["memberId"]
    assert fetched[2]["group"]["groupNumber"] == "G100001"
    assert fetched[2]["subscriber"]["memberId"] == child["memberId"][:9] + "00"


async def test_ids_are_opaque_not_row_numbers(client: httpx.AsyncClient) -> None:
    group = graphql_ok(await graphql(client, FIRST_MEMBER))["group"]
    assert not group["id"].isdigit()


async def test_unknown_row_is_null(client: httpx.AsyncClient) -> None:
    for node_id in (global_id("Group", 987654), global_id("Member", "abc")):
        assert graphql_ok(await graphql(client, NODE, {"id": node_id}))["node"] is None


@pytest.mark.parametrize(
    "bad_id", ["%%%", "bm90LWEtZ2xvYmFsLWlk", global_id("PageInfo", 1), global_id("Nope", 1)]
)
async def test_malformed_global_id_is_a_clear_error(client: httpx.AsyncClient, bad_id: str) -> None:
    errors = graphql_errors(await graphql(client, NODE, {"id": bad_id}))
    assert errors[0]["message"] == "This is not a valid ID: pass an `id` returned by this API."
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nodes_returns_in_order_with_nulls(client: httpx.AsyncClient) -> None:
    ids = [global_id("Group", 2), global_id("Group", 999999), global_id("Group", 1)]
    nodes = graphql_ok(await graphql(client, NODES, {"ids": ids}))["nodes"]
    assert [node and node["id"] for node in nodes] == [ids[0], None, ids[2]]


async def test_nodes_refuses_more_than_100_ids(client: httpx.AsyncClient) -> None:
    ids = [global_id("Group", n) for n in range(101)]
    errors = graphql_errors(await graphql(client, NODES, {"ids": ids}))
    assert errors[0]["message"] == "Ask for at most 100 IDs at a time."
