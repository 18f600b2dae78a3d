"""Dual coverage with this carrier (SPEC §2): candidates, a rep's confirmation, and the
order each side shows."""

from __future__ import annotations

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES
from db.models import Group, Member, MemberStatus, Relationship, Sex
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

CANDIDATES = """
query C($n: String!) { dualCoverageCandidates(groupNumber: $n) {
  member { id memberId } otherId otherGroupNumber otherMemberId relation } }
"""
CONFIRM = """
mutation Confirm($input: DualCoverageConfirmInput!) {
  dualCoverageConfirm(input: $input) { member { memberId } userErrors { code } }
}
"""
DUAL = """
query D($id: ID!) { node(id: $id) { ... on Member {
  dualCoverage { otherGroupNumber otherMemberId relation isPrimary rule } } } }
"""


async def _spouse_subscribed_elsewhere(connection: AsyncConnection) -> tuple[int, int]:
    """A spouse dependent of G100001 and a new subscriber of G100003 with the same name and
    date of birth."""
    stmt = (
        select(Member)
        .join(Group, Group.id == Member.group_id)
        .where(Group.group_number == "G100001", Member.relationship == Relationship.SPOUSE)
        .order_by(Member.id)
        .limit(1)
    )
    spouse = (await connection.execute(stmt)).one()
    group_id = await connection.scalar(select(Group.id).where(Group.group_number == "G100003"))
    other = await connection.scalar(
        insert(Member)
        .values(
            group_id=group_id, member_id="99999999700", relationship=Relationship.SUBSCRIBER,
            first_name=spouse.first_name, last_name=spouse.last_name,
            date_of_birth=spouse.date_of_birth, sex=Sex.UNKNOWN, status=MemberStatus.ACTIVE,
        )
        .returning(Member.id)
    )  # fmt: skip
    assert other is not None
    return int(spouse.id), int(other)


async def test_candidates_confirm_and_order(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    spouse, other = await _spouse_subscribed_elsewhere(connection)
    # when
    found = graphql_ok(await graphql(client, CANDIDATES, {"n": "G100001"}))
    confirm = {
        "memberId": global_id("Member", spouse),
        "otherMemberId": global_id("Member", other),
        "relation": "SPOUSE",
    }
    first = graphql_ok(await graphql(client, CONFIRM, {"input": confirm}))
    again = graphql_ok(await graphql(client, CONFIRM, {"input": confirm}))
    here = graphql_ok(await graphql(client, DUAL, {"id": global_id("Member", spouse)}))
    there = graphql_ok(await graphql(client, DUAL, {"id": global_id("Member", other)}))
    # then
    match = [c for c in found["dualCoverageCandidates"] if c["otherMemberId"] == "99999999700"]
    assert [(c["relation"], c["otherGroupNumber"]) for c in match] == [("SPOUSE", "G100003")]
    assert first["dualCoverageConfirm"]["userErrors"] == []
    assert [e["code"] for e in again["dualCoverageConfirm"]["userErrors"]] == ["ALREADY_LINKED"]
    [link] = here["node"]["dualCoverage"]
    assert link == {
        "otherGroupNumber": "G100003", "otherMemberId": "99999999700", "relation": "SPOUSE",
        "isPrimary": False, "rule": "SUBSCRIBER_OWN_PLAN",
    }  # fmt: skip
    assert there["node"]["dualCoverage"][0]["isPrimary"] is True


async def test_leader_sees_order_but_not_the_other_group(
    anonymous: httpx.AsyncClient,
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    spouse, other = await _spouse_subscribed_elsewhere(connection)
    confirm = {
        "memberId": global_id("Member", spouse),
        "otherMemberId": global_id("Member", other),
        "relation": "SPOUSE",
    }
    graphql_ok(await graphql(client, CONFIRM, {"input": confirm}))
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    here = graphql_ok(
        await graphql(anonymous, DUAL, {"id": global_id("Member", spouse)}, token=token)
    )
    [link] = here["node"]["dualCoverage"]
    assert (link["otherGroupNumber"], link["otherMemberId"], link["isPrimary"]) == (
        None,
        None,
        False,
    )
    denied = await graphql(anonymous, CANDIDATES, {"n": "G100001"}, token=token)
    assert graphql_errors(denied)[0]["extensions"]["code"] == "FORBIDDEN"
