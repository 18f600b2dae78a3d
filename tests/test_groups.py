"""The groups list and look-up by group number."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SEED_GROUPS
from tests.helpers import graphql, graphql_errors, graphql_ok

GROUPS = """
query Groups($first: Int!, $after: String, $filter: GroupFilter) {
  groups(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id groupNumber name status billingMode effectiveDate
                          address { line1 city state postalCode } plans { code name } } }
  }
}
"""

GROUP = """
query Group($number: String!) {
  group(groupNumber: $number) { groupNumber name status members(first: 3) { totalCount } }
}
"""


async def _all_pages(client: httpx.AsyncClient, first: int) -> list[str]:
    numbers: list[str] = []
    after = None
    while True:
        data = graphql_ok(await graphql(client, GROUPS, {"first": first, "after": after}))
        numbers += [edge["node"]["groupNumber"] for edge in data["groups"]["edges"]]
        if not data["groups"]["pageInfo"]["hasNextPage"]:
            return numbers
        after = data["groups"]["pageInfo"]["endCursor"]


async def test_groups_pages_walk_every_group_once_in_number_order(
    client: httpx.AsyncClient,
) -> None:
    # when the list is read two at a time
    numbers = await _all_pages(client, first=2)
    # then every seeded group appears once, in order
    assert numbers == sorted(numbers)
    assert len(numbers) == len(set(numbers)) == SEED_GROUPS


async def test_groups_page_has_counts_cursors_and_nested_plans(client: httpx.AsyncClient) -> None:
    data = graphql_ok(await graphql(client, GROUPS, {"first": 2}))
    connection = data["groups"]
    assert connection["totalCount"] == SEED_GROUPS
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["hasPreviousPage"] is False
    first = connection["edges"][0]
    assert first["cursor"] == connection["pageInfo"]["startCursor"]
    assert first["node"]["groupNumber"] == "G100001"
    assert len(first["node"]["plans"]) >= 2
    assert first["node"]["address"]["state"]


@pytest.mark.parametrize(
    ("flt", "check"),
    [
        ({"status": ["ACTIVE"]}, lambda node: node["status"] == "ACTIVE"),
        ({"billingMode": ["SELF_BILL"]}, lambda node: node["billingMode"] == "SELF_BILL"),
        ({"search": "g100001"}, lambda node: node["groupNumber"] == "G100001"),
    ],
)
async def test_groups_filter_narrows_the_list(client: httpx.AsyncClient, flt, check) -> None:  # type: ignore[no-untyped-def]
    everyone = graphql_ok(await graphql(client, GROUPS, {"first": 100}))["groups"]["totalCount"]
    data = graphql_ok(await graphql(client, GROUPS, {"first": 100, "filter": flt}))
    nodes = [edge["node"] for edge in data["groups"]["edges"]]
    assert nodes, "the seed has groups that match"
    assert all(check(node) for node in nodes)
    assert data["groups"]["totalCount"] == len(nodes) < everyone, "the filter leaves some out"


async def test_group_search_by_part_of_the_name(client: httpx.AsyncClient) -> None:
    # given the name of the first group
    first = graphql_ok(await graphql(client, GROUPS, {"first": 1}))["groups"]["edges"][0]["node"]
    word = first["name"].split()[0].lower()
    # when searching a word of it in lower case
    data = graphql_ok(await graphql(client, GROUPS, {"first": 100, "filter": {"search": word}}))
    # then it is found
    assert first["groupNumber"] in [e["node"]["groupNumber"] for e in data["groups"]["edges"]]


async def test_group_by_number_is_case_insensitive(client: httpx.AsyncClient) -> None:
    data = graphql_ok(await graphql(client, GROUP, {"number": "g100001"}))
    assert data["group"]["groupNumber"] == "G100001"
    assert data["group"]["members"]["totalCount"] >= 15


async def test_unknown_group_number_is_null_not_an_error(client: httpx.AsyncClient) -> None:
    data = graphql_ok(await graphql(client, GROUP, {"number": "G999999"}))
    assert data["group"] is None


async def test_page_size_over_the_maximum_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    errors = graphql_errors(await graphql(client, GROUPS, {"first": 100000}))
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "100 (the maximum page size)" in errors[0]["message"]


@pytest.mark.parametrize("first", [0, -1])
async def test_page_size_must_be_positive(client: httpx.AsyncClient, first: int) -> None:
    errors = graphql_errors(await graphql(client, GROUPS, {"first": first}))
    assert "between 1 and 100" in errors[0]["message"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WzFd", "eyJhIjogMX0=", "WyJHMTAwMDAxIiwgMV0="])
async def test_forged_cursor_is_a_clear_error(client: httpx.AsyncClient, cursor: str) -> None:
    errors = graphql_errors(await graphql(client, GROUPS, {"first": 5, "after": cursor}))
    assert errors[0]["message"] == "`after` is not a cursor returned by this API."
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
