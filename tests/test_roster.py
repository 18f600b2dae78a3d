"""The roster's search, filters, sort orders and keyset paging (issue 5, read side)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers import StatementCounter, graphql, graphql_errors, graphql_ok

ROSTER = """
query Roster($number: String!, $first: Int!, $after: String, $filter: MemberFilter,
             $orderBy: MemberOrder) {
  group(groupNumber: $number) {
    members(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        memberId firstName lastName dateOfBirth ssnLast4 age(on: "2026-11-15")
        currentCoverage { plan { code } tier }
        coverages { plan { code } tier effectiveDate terminationDate }
      } }
    }
  }
}
"""

DAY = "2026-11-15"
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "NAME": lambda n: (n["lastName"], n["firstName"]),
    "MEMBER_ID": lambda n: n["memberId"],
    "DATE_OF_BIRTH": lambda n: n["dateOfBirth"],
}


async def _members(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    variables.setdefault("number", "G100001")
    variables.setdefault("first", 100)
    data = graphql_ok(await graphql(client, ROSTER, variables))
    members: dict[str, Any] = data["group"]["members"]
    return members


async def _all(client: httpx.AsyncClient, **variables: Any) -> list[dict[str, Any]]:
    """Every page, following ``endCursor``."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = await _members(client, after=after, **variables)
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def _span_on(node: dict[str, Any], day: str) -> dict[str, Any] | None:
    spans: list[dict[str, Any]] = node["coverages"]
    for span in spans:
        end = span["terminationDate"]
        if span["effectiveDate"] <= day and (end is None or day <= end):
            return span
    return None


def _ids(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["memberId"] for node in nodes}


async def test_search_by_ssn_last4(client: httpx.AsyncClient) -> None:
    # given a member with an SSN on file
    everyone = await _all(client)
    target = next(node for node in everyone if node["ssnLast4"])
    # when searching by its last 4
    found = await _all(client, filter={"search": target["ssnLast4"]})
    # then the member is found, and every hit matches the last 4 or a member ID prefix
    assert target["memberId"] in _ids(found)
    assert all(
        n["ssnLast4"] == target["ssnLast4"] or n["memberId"].startswith(target["ssnLast4"])
        for n in found
    )


async def test_search_by_name_and_member_id(client: httpx.AsyncClient) -> None:
    target = (await _members(client, first=1))["edges"][0]["node"]
    by_id = await _all(client, filter={"search": target["memberId"][:10]})
    by_name = await _all(client, filter={"search": target["lastName"].upper()})
    assert target["memberId"] in _ids(by_id)
    assert all(n["memberId"].startswith(target["memberId"][:10]) for n in by_id)
    assert target["memberId"] in _ids(by_name)


@pytest.mark.parametrize(
    "flt",
    [
        {"coveredOn": DAY},
        {"coveredOn": "2024-01-01"},
        {"coveredOn": DAY, "tier": ["FAMILY", "EMPLOYEE"]},
        {"coveredOn": DAY, "planCode": ["DPPO-BASIC"]},
        {"coveredOn": DAY, "planCode": ["DPPO-BASIC"], "tier": ["EMPLOYEE"]},
    ],
    ids=["covered-today", "covered-2024", "tier", "plan", "plan-and-tier"],
)
async def test_coverage_filters_match_the_span_in_force(
    client: httpx.AsyncClient, flt: dict[str, Any]
) -> None:
    # given every member and their coverage history
    everyone = await _all(client)
    day = flt["coveredOn"]
    expected = set()
    for node in everyone:
        span = _span_on(node, day)
        if span is None:
            continue
        if "tier" in flt and span["tier"] not in flt["tier"]:
            continue
        if "planCode" in flt and span["plan"]["code"] not in flt["planCode"]:
            continue
        expected.add(node["memberId"])
    # when filtering in the API
    found = await _members(client, filter=flt)
    # then exactly those members match, and totalCount agrees
    assert _ids([e["node"] for e in found["edges"]]) == expected
    assert found["totalCount"] == len(expected)


async def test_the_filters_narrow_something(client: httpx.AsyncClient) -> None:
    everyone = await _members(client)
    covered = await _members(client, filter={"coveredOn": DAY})
    family = await _members(client, filter={"coveredOn": DAY, "tier": ["FAMILY"]})
    assert 0 < family["totalCount"] < covered["totalCount"] <= everyone["totalCount"]


async def test_plan_filter_defaults_to_today(client: httpx.AsyncClient) -> None:
    # given the plan filter without a day
    found = await _all(client, filter={"planCode": ["DPPO-BASIC"]})
    # then each hit's current span is under that plan
    assert found
    assert all(n["currentCoverage"]["plan"]["code"] == "DPPO-BASIC" for n in found)


@pytest.mark.parametrize("field", ["NAME", "MEMBER_ID", "DATE_OF_BIRTH"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_each_order_pages_without_gaps_or_repeats(
    client: httpx.AsyncClient, field: str, direction: str
) -> None:
    # given an order
    order = {"field": field, "direction": direction}
    total = (await _members(client, first=1))["totalCount"]
    # when paging through in small pages
    nodes = await _all(client, first=7, orderBy=order)
    # then every member comes once, in order
    ids = [node["memberId"] for node in nodes]
    assert len(ids) == len(set(ids)) == total
    keys = [SORT_KEYS[field](node) for node in nodes]
    assert keys == sorted(keys, reverse=direction == "DESC")


@pytest.mark.parametrize(
    ("first_order", "second_order"),
    [
        ({"field": "NAME"}, {"field": "NAME", "direction": "DESC"}),
        ({"field": "DATE_OF_BIRTH"}, {"field": "MEMBER_ID"}),
        ({"field": "MEMBER_ID"}, {"field": "NAME"}),
    ],
)
async def test_a_cursor_from_another_order_is_refused(
    client: httpx.AsyncClient, first_order: dict[str, str], second_order: dict[str, str]
) -> None:
    # given a cursor of one order
    page = await _members(client, first=3, orderBy=first_order)
    cursor = page["pageInfo"]["endCursor"]
    # when it is used with another order
    response = await graphql(
        client, ROSTER, {"number": "G100001", "first": 3, "after": cursor, "orderBy": second_order}
    )
    # then it is refused
    assert "another sort order" in graphql_errors(response)[0]["message"]


async def test_member_detail_current_coverage_and_age(client: httpx.AsyncClient) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for node in await _all(client):
        span = _span_on(node, today)
        current = node["currentCoverage"]
        assert (current is None) == (span is None)
        if span is not None:
            assert current == {"plan": span["plan"], "tier": span["tier"]}
        born = dt.date.fromisoformat(node["dateOfBirth"])
        on = dt.date(2026, 11, 15)
        assert node["age"] == on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@pytest.mark.parametrize("field", ["NAME", "MEMBER_ID", "DATE_OF_BIRTH"])
async def test_statements_do_not_grow_with_page_size(
    client: httpx.AsyncClient, statements: StatementCounter, field: str
) -> None:
    # given one filtered, sorted roster query at two page sizes
    variables = {
        "filter": {"coveredOn": DAY, "search": "a", "tier": ["EMPLOYEE", "FAMILY"]},
        "orderBy": {"field": field, "direction": "DESC"},
    }
    counts = []
    for first in (5, 100):
        statements.reset()
        await _members(client, first=first, **variables)
        counts.append(statements.count)
    # then the number of statements is the same
    assert counts[0] == counts[1], counts
