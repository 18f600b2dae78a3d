"""The statement-count guard over a member's detail: ID cards, other coverage, COB order,
dual-coverage links and a group's eligibility changes, with rows behind every member so
that a query per member would show as a count that grows with the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import (
    DualCoverageLink,
    Group,
    IdCardReason,
    IdCardRequest,
    IdCardStatus,
    Member,
    OtherCoverage,
)
from tests.helpers import StatementCounter, graphql, graphql_ok

DETAIL = """
query Detail($number: String!, $first: Int!) {
  group(groupNumber: $number) {
    members(first: $first) { edges { node {
      memberId
      idCardRequests { reason status dueOn }
      otherCoverages { carrierName policyNumber effectiveDate }
      cobOrder(on: "2026-11-15") { payer order rule }
      dualCoverage { otherGroupNumber otherMemberId relation isPrimary rule }
    } } }
  }
}
"""

CHANGES = """
query Changes($first: Int!) {
  groups(first: $first) { edges { node { groupNumber
    eligibilityChanges(first: 5) { totalCount edges { node { kind status } } } } } }
}
"""


def _members_of(number: str) -> Any:
    return (
        select(Member.id)
        .join(Group, Group.id == Member.group_id)
        .where(Group.group_number == number)
        .order_by(Member.id)
    )


async def _give_every_member_details(connection: AsyncConnection) -> None:
    """Set-based: a card request and other coverage for each G100001 member, and a dual
    link from each to the G100002 member in the same position."""
    members = _members_of("G100001").subquery()
    await connection.execute(
        insert(OtherCoverage).from_select(
            ["member_id", "carrier_name", "policy_number", "policy_holder_name",
             "policy_holder_birth_date", "effective_date"],
            select(members.c.id, literal("Other Dental"), literal("P-1"), literal("A Holder"),
                   literal(dt.date(1980, 3, 1)), literal(dt.date(2020, 1, 1))),
        )
    )  # fmt: skip
    await connection.execute(
        insert(IdCardRequest).from_select(
            ["member_id", "reason", "status", "requested_at", "due_on"],
            select(
                members.c.id,
                literal(IdCardReason.LOST.value),
                literal(IdCardStatus.QUEUED.value),
                literal(dt.datetime(2026, 11, 2, tzinfo=dt.UTC)),
                literal(dt.date(2026, 11, 16)),
            ),
        )
    )
    mine = list(await connection.scalars(_members_of("G100001")))
    theirs = list(await connection.scalars(_members_of("G100002")))
    pairs = [sorted(pair) for pair in zip(mine, theirs, strict=False)]
    await connection.execute(
        insert(DualCoverageLink),
        [{"member_id": a, "other_member_id": b, "relation": "SAME_PERSON"} for a, b in pairs],
    )


async def _counts(
    client: httpx.AsyncClient, statements: StatementCounter, query: str, sizes: tuple[int, int]
) -> tuple[list[int], dict[str, Any]]:
    """Statements for the query at each page size, and the last response's data."""
    counts, data = [], {}
    for first in sizes:
        statements.reset()
        data = graphql_ok(await graphql(client, query, {"number": "G100001", "first": first}))
        counts.append(statements.count)
    return counts, data


async def test_member_detail_statements_do_not_grow_with_page_size(
    client: httpx.AsyncClient, connection: AsyncConnection, statements: StatementCounter
) -> None:
    # given every member of the group has a card request, other coverage and a dual link
    await _give_every_member_details(connection)
    # when the detail is read for 5 and for 50 members
    counts, data = await _counts(client, statements, DETAIL, (5, 50))
    # then every member shows them, and the number of SQL statements is the same
    nodes = [edge["node"] for edge in data["group"]["members"]["edges"]]
    assert len(nodes) == 50
    assert all(n["idCardRequests"] and n["otherCoverages"] and n["dualCoverage"] for n in nodes)
    assert all("OTHER" in [e["payer"] for e in n["cobOrder"]] for n in nodes)
    assert counts[0] == counts[1], counts


async def test_eligibility_changes_statements_do_not_grow_with_groups(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # when each group's eligibility changes are read for 1 and for 6 groups
    counts, data = await _counts(client, statements, CHANGES, (1, 6))
    # then the number of SQL statements is the same
    assert len(data["groups"]["edges"]) == 6
    assert counts[0] == counts[1], counts
