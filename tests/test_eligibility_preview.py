"""eligibilityChangesPreview over HTTP: the statuses a submission would give, the premium
effect per month (SPEC §2 Billing), and nothing saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from api.services.dates import add_months, today
from db.models import (
    AuditEvent,
    ChangeBatch,
    ChangeItem,
    Coverage,
    CoverageTier,
    Group,
    IdCardRequest,
    Member,
    MemberStatus,
    RateSchedule,
    Relationship,
    TierRate,
)
from tests.helpers import Tokens, graphql, graphql_errors, graphql_ok
from tests.test_eligibility_changes import SUBMIT, add_subscriber, batch, group_gid

PREVIEW = """
mutation ($input: EligibilityChangesPreviewInput!) {
  eligibilityChangesPreview(input: $input) {
    changes {
      position kind status problems { code } memberId
      coverage { memberId relationship planCode tier start end }
      premiumEffect { total { amount } lines { month } }
    }
    premiumEffect {
      nextInvoiceMonth
      total { amount currency }
      lines {
        month subscriberMemberId tierBefore tierAfter
        before { amount } after { amount } difference { amount }
      }
    }
    userErrors { code field message }
  }
}
"""
TABLES = (ChangeBatch, ChangeItem, Coverage, Member, IdCardRequest, AuditEvent)


def preview_input(gid: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"input": {"groupId": gid, "changes": changes}}


def add_spouse(subscriber: str, effective: dt.date, first: str = "Spousepreview") -> dict[str, Any]:
    return {
        "addDependent": {
            "effectiveDate": effective.isoformat(),
            "reason": "MARRIAGE",
            "eventDate": today().isoformat(),
            "person": {
                "firstName": first,
                "lastName": "Previewtest",
                "dateOfBirth": "1988-04-05",
                "sex": "FEMALE",
            },
            "relationship": "SPOUSE",
            "subscriberMemberId": subscriber,
        }
    }


async def counts(connection: AsyncConnection) -> dict[str, int]:
    result = {}
    for model in TABLES:
        result[model.__tablename__] = int(
            await connection.scalar(select(func.count()).select_from(model)) or 0
        )
    return result


async def employee_subscriber(connection: AsyncConnection, month: dt.date) -> tuple[str, int]:
    """A subscriber of G100001 covered alone (EMPLOYEE, open-ended) since before ``month``
    with no dependents at all; (member ID, group plan pk)."""
    dependent = aliased(Member)
    stmt = (
        select(Member.member_id, Coverage.group_plan_id)
        .join(Coverage, Coverage.member_id == Member.id)
        .join(Group, Group.id == Member.group_id)
        .where(
            Group.group_number == "G100001",
            Member.relationship == Relationship.SUBSCRIBER,
            Member.status == MemberStatus.ACTIVE,
            Coverage.tier == CoverageTier.EMPLOYEE,
            Coverage.effective_date <= month,
            Coverage.termination_date.is_(None),
            ~exists().where(dependent.subscriber_id == Member.id),
        )
        .order_by(Member.member_id)
        .limit(1)
    )
    row = (await connection.execute(stmt)).one()
    return row[0], row[1]


async def rate(connection: AsyncConnection, plan: int, tier: CoverageTier, month: dt.date) -> int:
    stmt = (
        select(TierRate.monthly_premium_cents)
        .join(RateSchedule, RateSchedule.id == TierRate.rate_schedule_id)
        .where(
            RateSchedule.group_plan_id == plan,
            RateSchedule.effective_from <= month,
            RateSchedule.effective_to >= month,
            TierRate.tier == tier,
        )
    )
    cents = await connection.scalar(stmt)
    assert cents is not None, "the seed has a rate in force"
    return int(cents)


async def test_preview_gives_the_submit_statuses_and_saves_nothing(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    gid, this_month = await group_gid(connection), today().replace(day=1)
    next_month = add_months(this_month, 1)
    subscriber, _ = await employee_subscriber(connection, this_month)
    child = {
        "addDependent": {
            "effectiveDate": next_month.isoformat(),
            "reason": "NEW_HIRE",
            "person": {
                "firstName": "Kidpreview",
                "lastName": "Previewtest",
                "dateOfBirth": "2016-06-01",
                "sex": "MALE",
            },
            "relationship": "CHILD",
            "subscriberPosition": 0,
        }
    }
    changes = [
        add_subscriber("Newpreview", next_month),
        child,
        add_subscriber("Latepreview", next_month.replace(day=2)),
        add_spouse(subscriber, this_month),
    ]
    before = await counts(connection)
    # when
    data = graphql_ok(await graphql(client, PREVIEW, preview_input(gid, changes)))
    # then
    result = data["eligibilityChangesPreview"]
    statuses = [c["status"] for c in result["changes"]]
    assert statuses == ["APPLIED", "APPLIED", "REJECTED", "APPLIED"]
    new = result["changes"][0]
    starting = {
        (s["relationship"], s["tier"]) for s in new["coverage"] if s["start"] == str(next_month)
    }
    assert starting == {("SUBSCRIBER", "EMPLOYEE_CHILDREN"), ("CHILD", "EMPLOYEE_CHILDREN")}
    assert result["changes"][1]["memberId"] == new["memberId"][:9] + "01"
    after = await counts(connection)
    assert after == {**before, "audit_events": before["audit_events"] + 1}
    action = select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)
    assert await connection.scalar(action) == "eligibility.preview"
    submitted = graphql_ok(await graphql(client, SUBMIT, batch(gid, "preview-1", changes)))
    assert [c["status"] for c in submitted["eligibilityChangesSubmit"]["changes"]] == statuses


async def test_premium_effect_of_adding_a_spouse_retroactively(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given: a subscriber covered alone; a spouse added from this month's 1st (retro)
    gid, this_month = await group_gid(connection), today().replace(day=1)
    next_month = add_months(this_month, 1)
    subscriber, plan = await employee_subscriber(connection, this_month)
    expected = {}
    for month in (this_month, next_month):
        alone = await rate(connection, plan, CoverageTier.EMPLOYEE, month)
        couple = await rate(connection, plan, CoverageTier.EMPLOYEE_SPOUSE, month)
        expected[month.isoformat()] = (alone, couple)
    # when
    data = graphql_ok(
        await graphql(client, PREVIEW, preview_input(gid, [add_spouse(subscriber, this_month)]))
    )
    # then
    effect = data["eligibilityChangesPreview"]["premiumEffect"]
    assert effect["nextInvoiceMonth"] == next_month.isoformat()
    lines = {line["month"]: line for line in effect["lines"]}
    assert set(lines) == set(expected)
    for day, (alone, couple) in expected.items():
        line = lines[day]
        assert line["subscriberMemberId"] == subscriber
        assert (line["tierBefore"], line["tierAfter"]) == ("EMPLOYEE", "EMPLOYEE_SPOUSE")
        assert Decimal(line["before"]["amount"]) == Decimal(alone) / 100
        assert Decimal(line["after"]["amount"]) == Decimal(couple) / 100
        assert Decimal(line["difference"]["amount"]) == Decimal(couple - alone) / 100
    total = sum(couple - alone for alone, couple in expected.values())
    assert effect["total"] == {"amount": str(Decimal(total) / 100), "currency": "USD"}
    item = data["eligibilityChangesPreview"]["changes"][0]
    assert item["premiumEffect"]["total"] == {"amount": effect["total"]["amount"]}
    spouse = [s for s in item["coverage"] if s["relationship"] == "SPOUSE"]
    assert spouse == [
        {
            "memberId": subscriber[:9] + "01",
            "relationship": "SPOUSE",
            "planCode": spouse[0]["planCode"],
            "tier": "EMPLOYEE_SPOUSE",
            "start": this_month.isoformat(),
            "end": None,
        }
    ]


async def test_a_rejected_change_has_no_premium_effect(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    gid, this_month = await group_gid(connection), today().replace(day=1)
    subscriber, _ = await employee_subscriber(connection, this_month)
    misaligned = add_spouse(subscriber, this_month.replace(day=2))
    data = graphql_ok(await graphql(client, PREVIEW, preview_input(gid, [misaligned])))
    result = data["eligibilityChangesPreview"]
    assert result["changes"][0]["status"] == "REJECTED"
    assert result["changes"][0]["premiumEffect"] is None
    assert result["changes"][0]["coverage"] == []
    assert result["premiumEffect"]["lines"] == []
    assert result["premiumEffect"]["total"]["amount"] == "0.00"


async def test_preview_refuses_an_empty_input(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    data = graphql_ok(
        await graphql(client, PREVIEW, preview_input(await group_gid(connection), []))
    )
    assert data["eligibilityChangesPreview"]["userErrors"][0]["code"] == "TOO_MANY_CHANGES"


async def test_a_leader_with_eligibility_view_cannot_preview(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    token = await tokens.for_user("viewer@demo.test", ["eligibility:read", "eligibility:write"])
    variables = preview_input(await group_gid(connection), [add_subscriber("V", today())])
    errors = graphql_errors(await graphql(anonymous, PREVIEW, variables, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


GROUP_CHANGES = """
query ($n: String!, $status: [ChangeStatus!]) {
  group(groupNumber: $n) {
    eligibilityChanges(first: 10, status: $status) { totalCount edges { node { status } } }
  }
}
"""


async def test_group_eligibility_changes_lists_a_groups_changes_by_status(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    # given: one applied and one rejected change
    next_month = add_months(today(), 1)
    changes = [
        add_subscriber("Listed", next_month),
        add_subscriber("Bad", next_month.replace(day=2)),
    ]
    gid = await group_gid(connection)
    graphql_ok(await graphql(client, SUBMIT, batch(gid, "list-1", changes)))
    # when
    variables = {"n": "G100001", "status": ["REJECTED"]}
    data = graphql_ok(await graphql(client, GROUP_CHANGES, variables))
    # then
    page = data["group"]["eligibilityChanges"]
    assert page["totalCount"] >= 1
    assert {e["node"]["status"] for e in page["edges"]} == {"REJECTED"}
    token = await tokens.for_user("viewer@demo.test", ["group:read"])
    errors = graphql_errors(await graphql(anonymous, GROUP_CHANGES, variables, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
