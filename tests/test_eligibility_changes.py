"""eligibilityChangesSubmit over HTTP: per-item outcomes, idempotent replay, key reuse,
and who may submit (SPEC §2 Eligibility changes, §3 access)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.services.dates import add_months, today
from db.models import AuditEvent, ChangeItem, Coverage, Group, IdCardRequest, Member
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

SUBMIT = """
mutation ($input: EligibilityChangesInput!) {
  eligibilityChangesSubmit(input: $input) {
    replayed
    changes { id position kind status problems { code field message } member { memberId } }
    userErrors { code field message }
  }
}
"""
MEMBERS = """
query ($n: String!) { group(groupNumber: $n) { members(first: 1) { totalCount } } }
"""


async def group_gid(connection: AsyncConnection, number: str = "G100001") -> str:
    pk = await connection.scalar(select(Group.id).where(Group.group_number == number))
    assert pk is not None
    return global_id("Group", pk)


def add_subscriber(first: str, effective: dt.date, ssn: str | None = None) -> dict[str, Any]:
    return {
        "addSubscriber": {
            "effectiveDate": effective.isoformat(),
            "reason": "NEW_HIRE",
            "person": {
                "firstName": first,
                "lastName": "Httptest",
                "dateOfBirth": "1980-02-03",
                "sex": "MALE",
                "ssn": ssn,
            },
            "planCode": "DHMO-100",
        }
    }


def batch(gid: str, key: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"input": {"groupId": gid, "idempotencyKey": key, "changes": changes}}


async def test_submit_applies_each_item_on_its_own_and_replays(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    gid, next_month = await group_gid(connection), add_months(today(), 1)
    child = {
        "addDependent": {
            "effectiveDate": next_month.isoformat(),
            "reason": "NEW_HIRE",
            "person": {
                "firstName": "Kid",
                "lastName": "Httptest",
                "dateOfBirth": "2015-01-01",
                "sex": "FEMALE",
            },
            "relationship": "CHILD",
            "subscriberPosition": 0,
        }
    }
    bad = add_subscriber("Late", next_month.replace(day=2))
    changes = [add_subscriber("Ann", next_month, "123-45-6789"), child, bad]
    # when
    first = graphql_ok(await graphql(client, SUBMIT, batch(gid, "k-1", changes)))
    members_after_first = await connection.scalar(select(func.count(Member.id)))
    again = graphql_ok(await graphql(client, SUBMIT, batch(gid, "k-1", changes)))
    # then
    result = first["eligibilityChangesSubmit"]
    assert [c["status"] for c in result["changes"]] == ["APPLIED", "APPLIED", "REJECTED"]
    assert result["changes"][2]["problems"][0]["code"] == "EFFECTIVE_DATE_NOT_FIRST"
    sub_id = result["changes"][0]["member"]["memberId"]
    assert result["changes"][1]["member"]["memberId"] == sub_id[:9] + "01"
    assert again["eligibilityChangesSubmit"]["replayed"] is True
    assert again["eligibilityChangesSubmit"]["changes"] == result["changes"]
    assert await connection.scalar(select(func.count(Member.id))) == members_after_first
    actions = list(await connection.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("eligibility.add_subscriber") == 1
    assert actions[-2:] == ["eligibility.changesSubmit", "eligibility.changesReplay"]
    payloads = await connection.scalars(select(ChangeItem.payload))
    assert not any("123-45-6789" in p or "123456789" in p for p in payloads)
    pk = await connection.scalar(select(Member.id).where(Member.member_id == sub_id))
    cards = await connection.scalar(select(func.count()).where(IdCardRequest.member_id == pk))
    assert cards == 1
    stmt = select(Coverage.tier).where(Coverage.member_id == pk).order_by(Coverage.effective_date)
    # the child ages out in 2041, after which the subscriber is covered alone
    assert [t.value for t in await connection.scalars(stmt)] == ["EMPLOYEE_CHILDREN", "EMPLOYEE"]


async def test_a_reused_key_with_other_changes_is_refused(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    gid, next_month = await group_gid(connection), add_months(today(), 1)
    graphql_ok(await graphql(client, SUBMIT, batch(gid, "k-2", [add_subscriber("A", next_month)])))
    data = graphql_ok(
        await graphql(client, SUBMIT, batch(gid, "k-2", [add_subscriber("B", next_month)]))
    )
    assert data["eligibilityChangesSubmit"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_more_than_100_changes_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    gid, next_month = await group_gid(connection), add_months(today(), 1)
    changes = [add_subscriber(f"P{i}", next_month) for i in range(101)]
    data = graphql_ok(await graphql(client, SUBMIT, batch(gid, "k-3", changes)))
    assert data["eligibilityChangesSubmit"]["userErrors"][0]["code"] == "TOO_MANY_CHANGES"


async def test_a_leader_with_eligibility_view_cannot_submit(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    token = await tokens.for_user("viewer@demo.test", ["eligibility:read", "eligibility:write"])
    variables = batch(await group_gid(connection), "k-4", [add_subscriber("V", today())])
    errors = graphql_errors(await graphql(anonymous, SUBMIT, variables, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_leader_with_manage_submits_for_their_group_only(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    token = await tokens.for_user("leader@demo.test", ["group:read", "eligibility:write"])
    next_month = add_months(today(), 1)
    mine = batch(await group_gid(connection), "k-5", [add_subscriber("L", next_month)])
    data = graphql_ok(await graphql(anonymous, SUBMIT, mine, token=token))
    assert data["eligibilityChangesSubmit"]["changes"][0]["status"] == "APPLIED"
    other = batch(await group_gid(connection, "G100003"), "k-5", [add_subscriber("L", next_month)])
    data = graphql_ok(await graphql(anonymous, SUBMIT, other, token=token))
    assert data["eligibilityChangesSubmit"]["userErrors"][0]["code"] == "GROUP_NOT_FOUND"


@pytest.mark.parametrize("scopes", [["group:read"], ["group:read", "eligibility:read"]])
async def test_members_need_eligibility_read_and_access(
    anonymous: httpx.AsyncClient, tokens: Tokens, scopes: list[str]
) -> None:
    # the viewer holds eligibility VIEW on G100001 only; G100002 is another group's data
    token = await tokens.for_user("viewer@demo.test", scopes)
    own = await graphql(anonymous, MEMBERS, {"n": "G100001"}, token=token)
    if "eligibility:read" in scopes:
        assert graphql_ok(own)["group"]["members"]["totalCount"] > 0
    else:
        assert graphql_errors(own)[0]["extensions"]["code"] == "FORBIDDEN"
    other = graphql_ok(await graphql(anonymous, MEMBERS, {"n": "G100002"}, token=token))
    assert other["group"] is None


QUEUE = """
query { eligibilityReviewQueue(first: 100, groupNumber: "G100001") {
  totalCount edges { node { id status problems { code } } } } }
"""
APPROVE = """
mutation ($input: EligibilityChangeApproveInput!) {
  eligibilityChangeApprove(input: $input) { change { status reviewNote member { memberId } }
    userErrors { code message } } }
"""
REJECT = """
mutation ($input: EligibilityChangeRejectInput!) {
  eligibilityChangeReject(input: $input) { change { status reviewNote } userErrors { code } } }
"""


async def test_a_rep_approves_or_rejects_a_retro_change(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given: two adds more than 30 days in the past wait for review
    retro = add_months(today(), -2)
    changes = [add_subscriber("Retro1", retro), add_subscriber("Retro2", retro)]
    data = graphql_ok(
        await graphql(client, SUBMIT, batch(await group_gid(connection), "k-r", changes))
    )
    submitted = data["eligibilityChangesSubmit"]["changes"]
    assert [c["status"] for c in submitted] == ["PENDING_REVIEW"] * 2
    queue = graphql_ok(await graphql(client, QUEUE))["eligibilityReviewQueue"]
    ids = [e["node"]["id"] for e in queue["edges"]]
    assert {c["id"] for c in submitted} <= set(ids)
    # when
    approved = graphql_ok(
        await graphql(client, APPROVE, {"input": {"id": submitted[0]["id"], "reason": "HR late"}})
    )["eligibilityChangeApprove"]
    rejected = graphql_ok(
        await graphql(client, REJECT, {"input": {"id": submitted[1]["id"], "message": "No."}})
    )["eligibilityChangeReject"]
    # then
    assert approved["change"]["status"] == "APPLIED", approved
    assert approved["change"]["member"]["memberId"]
    assert rejected["change"] == {"status": "REJECTED", "reviewNote": "No."}
    again = graphql_ok(
        await graphql(client, REJECT, {"input": {"id": submitted[0]["id"], "message": "x"}})
    )["eligibilityChangeReject"]
    assert again["userErrors"] == [{"code": "NOT_PENDING"}]


async def test_leaders_cannot_work_the_review_queue(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = await tokens.for_user("leader@demo.test", ["eligibility:read", "rep:eligibility"])
    errors = graphql_errors(await graphql(anonymous, QUEUE, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("key", ["", " ", "k" * 101, "file:1:0"])
async def test_a_bad_or_reserved_idempotency_key_is_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, key: str
) -> None:
    # given
    gid = await group_gid(connection)
    change = add_subscriber("Keyless", add_months(today(), 1).replace(day=1))
    # when
    data = graphql_ok(await graphql(client, SUBMIT, batch(gid, key, [change])))
    # then nothing is applied, and the error names the key
    result = data["eligibilityChangesSubmit"]
    assert result["changes"] == []
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("INVALID_IDEMPOTENCY_KEY", ["idempotencyKey"])
    ]
