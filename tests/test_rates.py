"""Premium rates: rateScheduleCreate's rules, rateFor, the schedules list and rating."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES
from api.services import rates as rate_service
from api.services.dates import today
from api.services.rating import MissingTierRate, billing_day, covers, rate_for
from db.models import CoverageTier, Group, GroupPlan, Plan, RateSchedule, TierRate
from tests.helpers import (
    StatementCounter,
    Tokens,
    global_id,
    graphql,
    graphql_errors,
    graphql_ok,
)

RATE_SCHEDULE_CREATE = """
mutation ($input: RateScheduleCreateInput!) {
  rateScheduleCreate(input: $input) {
    rateSchedule { plan { code } period { start end } isCurrent
                   rates { tier amount { amount currency } } }
    userErrors { field message code }
  }
}
"""
RATE_FOR = """
query ($group: String!, $plan: String!, $tier: CoverageTier!, $month: Date!) {
  rateFor(groupNumber: $group, planCode: $plan, tier: $tier, month: $month) { amount currency }
}
"""
SCHEDULES = """
query ($number: String!, $first: Int!, $after: String, $plan: String) {
  group(groupNumber: $number) {
    rateSchedules(first: $first, after: $after, planCode: $plan) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id plan { code } period { start end } isCurrent } }
    }
  }
}
"""
GROUPS_DEEP = """
query ($first: Int!) {
  groups(first: $first) { edges { node { groupNumber
    rateSchedules(first: 3) { totalCount edges { node { plan { code } period { start end }
      isCurrent rates { tier amount { amount currency } } } } }
    contacts { kind name email } } } }
}
"""
NODE = "query ($id: ID!) { node(id: $id) { id ... on RateSchedule { plan { code } } } }"
PLANS = "{ plans { code name planType } }"
RATES = {
    "employee": "45.10",
    "employeeSpouse": "90.20",
    "employeeChildren": "85",
    "family": "131.99",
}


def _input(**overrides: Any) -> dict[str, Any]:
    """A 2030 schedule for G100001's first plan (seeded schedules end before 2029)."""
    return {
        "groupId": global_id("Group", 1),
        "planCode": "PLAN",
        "effectiveFrom": "2030-01-01",
        "effectiveTo": "2030-12-31",
        "rates": RATES,
        **overrides,
    }


async def _first_plan(connection: AsyncConnection, number: str = "G100001") -> str:
    code = await connection.scalar(
        select(Plan.code)
        .join(GroupPlan, GroupPlan.plan_id == Plan.id)
        .join(Group, Group.id == GroupPlan.group_id)
        .where(Group.group_number == number)
        .order_by(Plan.code)
    )
    assert code is not None
    return str(code)


async def _seeded_cents(
    connection: AsyncConnection, number: str, plan: str, tier: CoverageTier, day: dt.date
) -> int:
    cents = await connection.scalar(
        select(TierRate.monthly_premium_cents)
        .join(RateSchedule, RateSchedule.id == TierRate.rate_schedule_id)
        .join(GroupPlan, GroupPlan.id == RateSchedule.group_plan_id)
        .join(Group, Group.id == GroupPlan.group_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(Group.group_number == number, Plan.code == plan, TierRate.tier == tier)
        .where(RateSchedule.effective_from <= day, RateSchedule.effective_to >= day)
    )
    assert cents is not None
    return int(cents)


async def _counts(connection: AsyncConnection) -> tuple[int | None, int | None]:
    schedules = await connection.scalar(select(func.count()).select_from(RateSchedule))
    rates = await connection.scalar(select(func.count()).select_from(TierRate))
    return schedules, rates


async def _create(client: httpx.AsyncClient, payload_input: dict[str, Any]) -> dict[str, Any]:
    data = graphql_ok(await graphql(client, RATE_SCHEDULE_CREATE, {"input": payload_input}))
    payload: dict[str, Any] = data["rateScheduleCreate"]
    return payload


async def test_a_rep_creates_a_schedule_with_exact_rates(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    plan = await _first_plan(connection)
    payload = await _create(client, _input(planCode=plan))
    assert payload["userErrors"] == []
    schedule = payload["rateSchedule"]
    assert schedule["period"] == {"start": "2030-01-01", "end": "2030-12-31"}
    assert schedule["rates"] == [
        {"tier": "EMPLOYEE", "amount": {"amount": "45.10", "currency": "USD"}},
        {"tier": "EMPLOYEE_SPOUSE", "amount": {"amount": "90.20", "currency": "USD"}},
        {"tier": "EMPLOYEE_CHILDREN", "amount": {"amount": "85.00", "currency": "USD"}},
        {"tier": "FAMILY", "amount": {"amount": "131.99", "currency": "USD"}},
    ]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"effectiveFrom": "2027-01-01"}, "PERIOD_OVERLAPS", ["effectiveFrom"]),
        ({"rates": {**RATES, "family": None}}, "RATE_MISSING", ["rates", "family"]),
        ({"rates": {**RATES, "employee": "-1.00"}}, "NEGATIVE_RATE", ["rates", "employee"]),
        (
            {"rates": {**RATES, "employeeSpouse": "10.005"}},
            "FRACTIONAL_CENTS",
            ["rates", "employeeSpouse"],
        ),
        ({"rates": {**RATES, "family": "1e9"}}, "INVALID_RATE", ["rates", "family"]),
        (
            {"effectiveFrom": "2030-01-15"},
            "EFFECTIVE_FROM_NOT_FIRST_OF_MONTH",
            ["effectiveFrom"],
        ),
        ({"effectiveTo": "2030-12-30"}, "EFFECTIVE_TO_NOT_LAST_OF_MONTH", ["effectiveTo"]),
        ({"effectiveTo": "2029-12-31"}, "PERIOD_REVERSED", ["effectiveTo"]),
        ({"planCode": "DHMO-XYZ"}, "PLAN_NOT_OFFERED", ["planCode"]),
        ({"groupId": global_id("Plan", 1)}, "GROUP_NOT_FOUND", ["groupId"]),
    ],
)
async def test_bad_schedules_are_user_errors_and_nothing_is_saved(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    overrides: dict[str, Any],
    code: str,
    field: list[str],
) -> None:
    # given the counts before
    before = await _counts(connection)
    overrides.setdefault("planCode", await _first_plan(connection))
    # when the schedule is refused
    payload = await _create(client, _input(**overrides))
    # then it names the field and saves nothing
    assert payload["rateSchedule"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert all(error["message"] for error in payload["userErrors"])
    assert await _counts(connection) == before


async def test_a_missing_tier_in_the_input_is_a_user_error(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    rates = {key: value for key, value in RATES.items() if key != "employeeChildren"}
    payload = await _create(client, _input(planCode=await _first_plan(connection), rates=rates))
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("RATE_MISSING", ["rates", "employeeChildren"])
    ]


async def test_the_database_refuses_an_overlap_the_check_missed(
    client: httpx.AsyncClient, connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent writer can pass the check; the trigger or exclusion constraint refuses."""

    async def no_clash(*_args: object) -> None:
        return None

    monkeypatch.setattr(rate_service, "overlapping", no_clash)
    before = await _counts(connection)
    payload = await _create(
        client, _input(planCode=await _first_plan(connection), effectiveFrom="2027-01-01")
    )
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("PERIOD_OVERLAPS", ["effectiveFrom"])
    ]
    assert await _counts(connection) == before


async def test_rate_for_returns_the_rate_in_force_on_the_first(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a seeded group's rate on 1 March 2027
    plan = await _first_plan(connection)
    tier = CoverageTier.FAMILY
    cents = await _seeded_cents(connection, "G100001", plan, tier, dt.date(2027, 3, 1))
    variables = {"group": "G100001", "plan": plan, "tier": "FAMILY", "month": "2027-03-20"}
    # when asked for any day of March
    data = graphql_ok(await graphql(client, RATE_FOR, variables))
    # then it is that rate, as an exact decimal string
    assert data["rateFor"] == {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"}
    assert Decimal(data["rateFor"]["amount"]) * 100 == cents


@pytest.mark.parametrize(
    ("overrides"),
    [{"month": "2040-01-01"}, {"plan": "NOPE"}, {"group": "G999999"}],
    ids=["no-schedule", "plan-not-offered", "unknown-group"],
)
async def test_rate_for_is_null_without_a_rate(
    client: httpx.AsyncClient, connection: AsyncConnection, overrides: dict[str, str]
) -> None:
    variables = {"group": "G100001", "plan": await _first_plan(connection), "tier": "EMPLOYEE"}
    variables |= {"month": "2027-03-01", **overrides}
    assert graphql_ok(await graphql(client, RATE_FOR, variables))["rateFor"] is None


async def test_a_leader_sees_only_their_groups_rates(
    anonymous: httpx.AsyncClient, tokens: Tokens, connection: AsyncConnection
) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    own, other = await _first_plan(connection), await _first_plan(connection, "G100003")
    mine = {"group": "G100001", "plan": own, "tier": "EMPLOYEE", "month": "2027-01-01"}
    theirs = {**mine, "group": "G100003", "plan": other}
    assert graphql_ok(await graphql(anonymous, RATE_FOR, mine, token=token))["rateFor"]
    assert graphql_ok(await graphql(anonymous, RATE_FOR, theirs, token=token))["rateFor"] is None
    other_schedule = await connection.scalar(
        select(RateSchedule.id)
        .join(GroupPlan, GroupPlan.id == RateSchedule.group_plan_id)
        .join(Group, Group.id == GroupPlan.group_id)
        .where(Group.group_number == "G100003")
        .limit(1)
    )
    assert other_schedule is not None, "the seed gives G100003 rate schedules"
    node = {"id": global_id("RateSchedule", other_schedule)}
    assert graphql_ok(await graphql(anonymous, NODE, node, token=token))["node"] is None
    groups = graphql_ok(await graphql(anonymous, GROUPS_DEEP, {"first": 10}, token=token))
    numbers = [edge["node"]["groupNumber"] for edge in groups["groups"]["edges"]]
    assert numbers == ["G100001", "G100002"]
    assert all(e["node"]["rateSchedules"]["totalCount"] > 0 for e in groups["groups"]["edges"])


async def test_schedules_page_newest_first_without_gaps(client: httpx.AsyncClient) -> None:
    everything = await _schedules(client, first=100)
    seen, after = [], None
    while True:
        page = await _schedules(client, first=2, after=after)
        seen += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything["edges"]
    assert len(seen) == everything["totalCount"] > 2
    starts = [edge["node"]["period"]["start"] for edge in seen]
    assert starts == sorted(starts, reverse=True)
    day = today().isoformat()
    for edge in seen:
        period = edge["node"]["period"]
        assert edge["node"]["isCurrent"] == (period["start"] <= day <= period["end"])


async def test_schedules_filter_by_plan(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    plan = await _first_plan(connection)
    page = await _schedules(client, first=100, plan=plan.lower())
    assert page["totalCount"] == len(page["edges"]) > 0
    assert {edge["node"]["plan"]["code"] for edge in page["edges"]} == {plan}


async def test_a_bad_cursor_is_bad_user_input(client: httpx.AsyncClient) -> None:
    variables = {"number": "G100001", "first": 2, "after": "bm90LWEtY3Vyc29y"}
    errors = graphql_errors(await graphql(client, SCHEDULES, variables))
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def _schedules(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    variables = {"number": "G100001", "after": None, "plan": None, **variables}
    data = graphql_ok(await graphql(client, SCHEDULES, variables))
    schedules: dict[str, Any] = data["group"]["rateSchedules"]
    return schedules


async def test_plans_lists_the_catalogue(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    plans = graphql_ok(await graphql(client, PLANS))["plans"]
    codes = [plan["code"] for plan in plans]
    assert codes == sorted(codes)
    assert len(codes) == await connection.scalar(select(func.count()).select_from(Plan))


async def test_statement_count_does_not_grow_with_the_groups_page(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    counts = []
    for first in (2, 6):
        statements.reset()
        data = graphql_ok(await graphql(client, GROUPS_DEEP, {"first": first}))
        assert len(data["groups"]["edges"]) == first
        counts.append(statements.count)
    assert counts[0] == counts[1], counts
    # 4 to authenticate, the groups page, schedules, their count, tier rates and
    # contacts (one statement each), and the test harness's savepoint pair.
    assert counts[0] <= 12


def test_rating_rules() -> None:
    rates = {CoverageTier.EMPLOYEE: 4510, CoverageTier.FAMILY: 13199}
    assert rate_for(schedule_rates=rates, tier=CoverageTier.FAMILY) == 13199
    with pytest.raises(MissingTierRate):
        rate_for(schedule_rates=rates, tier=CoverageTier.EMPLOYEE_SPOUSE)
    assert billing_day(dt.date(2027, 3, 20)) == dt.date(2027, 3, 1)
    period = {"effective_from": dt.date(2027, 1, 1), "effective_to": dt.date(2027, 12, 31)}
    assert covers(**period, day=dt.date(2027, 12, 31))
    assert not covers(**period, day=dt.date(2028, 1, 1))
