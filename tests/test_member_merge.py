"""Member merge (SPEC §2 duplicates): history moves to the survivor, the duplicate becomes
MERGED; every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES
from db.models import (
    AuditEvent,
    Coverage,
    CoverageTier,
    Group,
    IdCardRequest,
    Member,
    MemberStatus,
    OtherCoverage,
    Relationship,
    Sex,
)
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

MERGE = """
mutation Merge($input: MembersMergeInput!) {
  membersMerge(input: $input) {
    survivor { memberId status coverages { effectiveDate } dependents { memberId } }
    duplicate { memberId status }
    userErrors { code field message }
  }
}
"""
D = dt.date


async def _survivor(connection: AsyncConnection, group_number: str) -> dict[str, Any]:
    stmt = (
        select(Member.id, Member.group_id, Coverage.group_plan_id, Coverage.effective_date)
        .join(Group, Group.id == Member.group_id)
        .join(Coverage, Coverage.member_id == Member.id)
        .where(Group.group_number == group_number, Member.relationship == Relationship.SUBSCRIBER)
        .order_by(Member.id, Coverage.effective_date)
        .limit(1)
    )
    row = (await connection.execute(stmt)).one()
    return dict(zip(("id", "group_id", "group_plan_id", "start"), row, strict=True))


async def _member(connection: AsyncConnection, group_id: int, member_id: str, **extra: Any) -> int:
    values = {
        "group_id": group_id,
        "member_id": member_id,
        "relationship": Relationship.SUBSCRIBER,
        "first_name": "Dup",
        "last_name": "Licate",
        "date_of_birth": D(1980, 1, 1),
        "sex": Sex.UNKNOWN,
        "status": MemberStatus.ACTIVE,
    } | extra
    pk = await connection.scalar(insert(Member).values(values).returning(Member.id))
    assert pk is not None
    return int(pk)


async def _duplicate(
    connection: AsyncConnection, survivor: dict[str, Any], span: tuple[D, D]
) -> int:
    """A duplicate subscriber with one coverage span, a child, other coverage and a card."""
    pk = await _member(connection, survivor["group_id"], "99999999900")
    await _member(
        connection, survivor["group_id"], "99999999901",
        relationship=Relationship.CHILD, subscriber_id=pk,
    )  # fmt: skip
    await connection.execute(
        insert(Coverage).values(
            member_id=pk, group_plan_id=survivor["group_plan_id"], tier=CoverageTier.EMPLOYEE,
            effective_date=span[0], termination_date=span[1],
        )
    )  # fmt: skip
    await connection.execute(
        insert(OtherCoverage).values(
            member_id=pk, carrier_name="X", policy_number="1", policy_holder_name="Dup Licate",
            effective_date=D(2020, 1, 1),
        )
    )  # fmt: skip
    await connection.execute(
        insert(IdCardRequest).values(
            member_id=pk, reason="LOST", status="QUEUED",
            requested_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), due_on=D(2026, 1, 20),
        )
    )  # fmt: skip
    return pk


def _variables(survivor: int, duplicate: int, reason: str = "Same SSN") -> dict[str, Any]:
    return {
        "input": {
            "survivorId": global_id("Member", survivor),
            "duplicateId": global_id("Member", duplicate),
            "reason": reason,
        }
    }


async def _owners(connection: AsyncConnection, duplicate: int) -> dict[str, Any]:
    """Where the duplicate's records are, to show a refusal changed nothing."""
    status = await connection.scalar(select(Member.status).where(Member.id == duplicate))
    counts = {}
    for model in (Coverage, OtherCoverage, IdCardRequest):
        rows = await connection.scalars(select(model.id).where(model.member_id == duplicate))
        counts[model.__name__] = len(rows.all())
    children = await connection.scalars(select(Member.id).where(Member.subscriber_id == duplicate))
    return {"status": status, "children": len(children.all()), **counts}


async def test_merge_moves_history_to_the_survivor(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    survivor = await _survivor(connection, "G100001")
    duplicate = await _duplicate(connection, survivor, (D(2000, 1, 1), D(2000, 12, 31)))
    # when
    data = graphql_ok(await graphql(client, MERGE, _variables(survivor["id"], duplicate)))
    # then
    payload = data["membersMerge"]
    assert payload["userErrors"] == []
    assert payload["duplicate"] == {"memberId": "99999999900", "status": "MERGED"}
    assert "2000-01-01" in [c["effectiveDate"] for c in payload["survivor"]["coverages"]]
    assert "99999999901" in [d["memberId"] for d in payload["survivor"]["dependents"]]
    assert await _owners(connection, duplicate) == {
        "status": MemberStatus.MERGED, "children": 0,
        "Coverage": 0, "OtherCoverage": 0, "IdCardRequest": 0,
    }  # fmt: skip
    merged_into = await connection.scalar(
        select(Member.merged_into_id).where(Member.id == duplicate)
    )
    assert merged_into == survivor["id"]
    changes = await connection.scalar(
        select(AuditEvent.changes).where(AuditEvent.action == "member.merge")
    )
    assert changes is not None
    assert orjson.loads(changes)["duplicate"] == "99999999900"


COVERAGE_ON = """
query ($id: String!) { coverageOn(memberId: $id, date: "2000-06-15") {
  member { memberId } mergedFrom covered } }
"""
MERGED_INTO = """
query ($id: ID!) { node(id: $id) { ... on Member { status mergedInto { memberId } } } }
"""


async def test_a_merged_record_points_at_its_survivor_and_claims_follow_it(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a duplicate covered in 2000, merged into a survivor
    survivor = await _survivor(connection, "G100001")
    duplicate = await _duplicate(connection, survivor, (D(2000, 1, 1), D(2000, 12, 31)))
    merged = graphql_ok(await graphql(client, MERGE, _variables(survivor["id"], duplicate)))
    survivor_id = merged["membersMerge"]["survivor"]["memberId"]
    # when the claims system asks about the old member ID, and a rep opens the old record
    on = graphql_ok(await graphql(client, COVERAGE_ON, {"id": "99999999900"}))["coverageOn"]
    node = graphql_ok(await graphql(client, MERGED_INTO, {"id": global_id("Member", duplicate)}))
    # then the answer is the survivor's, covered through the history that moved to it
    assert on == {"member": {"memberId": survivor_id}, "mergedFrom": "99999999900", "covered": True}
    assert node["node"] == {"status": "MERGED", "mergedInto": {"memberId": survivor_id}}


UNCHANGED = {"status": MemberStatus.ACTIVE, "children": 1, "Coverage": 1, "OtherCoverage": 1,
             "IdCardRequest": 1}  # fmt: skip


async def test_overlapping_coverage_is_refused_and_explained(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    survivor = await _survivor(connection, "G100001")
    start = survivor["start"]
    duplicate = await _duplicate(connection, survivor, (start, start))
    data = graphql_ok(await graphql(client, MERGE, _variables(survivor["id"], duplicate)))
    [error] = data["membersMerge"]["userErrors"]
    assert error["code"] == "COVERAGE_OVERLAP"
    assert start.isoformat() in error["message"]
    assert await _owners(connection, duplicate) == UNCHANGED


@pytest.mark.parametrize(
    "case", ["same", "other_group", "already_merged", "no_reason", "other_family"]
)
async def test_merge_refusals_change_nothing(
    client: httpx.AsyncClient, connection: AsyncConnection, case: str
) -> None:
    # given
    survivor = await _survivor(connection, "G100001")
    duplicate = await _duplicate(connection, survivor, (D(2000, 1, 1), D(2000, 12, 31)))
    target, reason, code, merged = survivor["id"], "Same SSN", "", duplicate
    if case == "same":
        target, code = duplicate, "SAME_MEMBER"
    elif case == "other_group":
        target, code = (await _survivor(connection, "G100003"))["id"], "DIFFERENT_GROUPS"
    elif case == "already_merged":
        target = await _member(
            connection, survivor["group_id"], "99999999800",
            status=MemberStatus.MERGED, merged_into_id=survivor["id"],
        )  # fmt: skip
        code = "ALREADY_MERGED"
    elif case == "no_reason":
        reason, code = "  ", "REASON_REQUIRED"
    else:  # the duplicate's child merged into another family's child
        other = await _member(connection, survivor["group_id"], "99999999700")
        target = await _member(
            connection, survivor["group_id"], "99999999701",
            relationship=Relationship.CHILD, subscriber_id=other,
        )  # fmt: skip
        code = "DIFFERENT_FAMILIES"
        child = await connection.scalar(select(Member.id).where(Member.member_id == "99999999901"))
        assert child is not None
        merged = child
    # when
    data = graphql_ok(await graphql(client, MERGE, _variables(target, merged, reason)))
    # then
    assert [e["code"] for e in data["membersMerge"]["userErrors"]] == [code]
    assert await _owners(connection, duplicate) == UNCHANGED


async def test_leader_cannot_merge(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    survivor = await _survivor(connection, "G100001")
    duplicate = await _duplicate(connection, survivor, (D(2000, 1, 1), D(2000, 12, 31)))
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, MERGE, _variables(survivor["id"], duplicate), token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"
    assert await _owners(connection, duplicate) == UNCHANGED
