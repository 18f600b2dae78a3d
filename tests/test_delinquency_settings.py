"""Delinquency settings (issue 8): a group's own thresholds and emergency grace extensions,
set by representatives, validated with userErrors naming the field, audited, and used by
``policy.thresholds_for`` (what the daily run and the worklist read)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services.dates import today
from api.services.delinquency.policy import DEFAULT, Thresholds, thresholds_for
from db.models import (
    AuditEvent,
    BillingMode,
    DelinquencyPolicy,
    GraceExtension,
    Group,
    GroupStatus,
)
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

TODAY = today()

POLICY_FIELDS = """delinquencyPolicy { firstNoticeDays secondNoticeDays suspensionDays
  terminationDays isGroupOwn graceExtraDays }"""
GROUP = f"query($number: String!) {{ group(groupNumber: $number) {{ {POLICY_FIELDS} }} }}"
SET = f"""mutation($input: GroupDelinquencyPolicySetInput!) {{
  groupDelinquencyPolicySet(input: $input) {{
    group {{ groupNumber {POLICY_FIELDS} }} userErrors {{ code field message }} }} }}"""
RESET = f"""mutation($input: GroupDelinquencyPolicyResetInput!) {{
  groupDelinquencyPolicyReset(input: $input) {{
    group {{ groupNumber {POLICY_FIELDS} }} userErrors {{ code field message }} }} }}"""
EXTENSION = "graceExtension { id startsOn endsOn extraDays state reason createdAt }"
CREATE = f"""mutation($input: GraceExtensionCreateInput!) {{
  graceExtensionCreate(input: $input) {{ {EXTENSION} userErrors {{ code field message }} }} }}"""
END = f"""mutation($input: GraceExtensionEndInput!) {{
  graceExtensionEnd(input: $input) {{ {EXTENSION} userErrors {{ code field message }} }} }}"""
LIST = """query($activeOn: Date) { graceExtensions(activeOn: $activeOn) {
  totalCount edges { node { id state extraDays } } } }"""


async def _group(sessions: async_sessionmaker[AsyncSession], number: str, state: str) -> int:
    async with sessions.begin() as session:
        group = Group(
            group_number=number, name=f"Grace {state} Co", address_line1="1 Main St",
            city="Springfield", state=state, postal_code="45402", status=GroupStatus.ACTIVE,
            billing_mode=BillingMode.LIST_BILL, effective_date=dt.date(2026, 1, 1),
        )  # fmt: skip
        session.add(group)
        await session.flush()
        return group.id


async def _thresholds(sessions: async_sessionmaker[AsyncSession], group_id: int) -> Thresholds:
    async with sessions() as session:
        return (await thresholds_for(session, [group_id], as_of=TODAY))[group_id]


async def _audit(sessions: async_sessionmaker[AsyncSession], action: str) -> list[Any]:
    """The ``changes`` of each audit event of ``action``, oldest first."""
    async with sessions() as session:
        stmt = select(AuditEvent.changes).where(AuditEvent.action == action)
        return [
            json.loads(c or "null") for c in await session.scalars(stmt.order_by(AuditEvent.id))
        ]


async def _rep(tokens: Tokens) -> str:
    return await tokens.for_user("rep@demo.test", ALL_SCOPES)


def _policy_input(group_id: int, days: tuple[int, int, int, int]) -> dict[str, Any]:
    first, second, suspension, termination = days
    return {"input": {
        "groupId": global_id("Group", group_id), "firstNoticeDays": first,
        "secondNoticeDays": second, "suspensionDays": suspension, "terminationDays": termination,
    }}  # fmt: skip


def _policy(days: tuple[int, int, int, int], *, own: bool, extra: int = 0) -> dict[str, Any]:
    first, second, suspension, termination = days
    return {
        "firstNoticeDays": first, "secondNoticeDays": second, "suspensionDays": suspension,
        "terminationDays": termination, "isGroupOwn": own, "graceExtraDays": extra,
    }  # fmt: skip


DEFAULTS = (1, 15, 31, 61)


async def test_a_rep_sets_a_groups_own_thresholds_and_resets_them(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given a group on the defaults
    rep, group_id = await _rep(tokens), await _group(sessions, "G970001", "OH")
    shown = graphql_ok(await graphql(anonymous, GROUP, {"number": "G970001"}, token=rep))
    assert shown["group"]["delinquencyPolicy"] == _policy(DEFAULTS, own=False)
    # when a rep gives it its own, twice
    for days in ((3, 20, 45, 90), (2, 10, 40, 80)):
        payload = graphql_ok(await graphql(anonymous, SET, _policy_input(group_id, days),
                                           token=rep))["groupDelinquencyPolicySet"]  # fmt: skip
        assert payload["userErrors"] == []
        assert payload["group"]["delinquencyPolicy"] == _policy(days, own=True)
    # then the run's thresholds are the group's own
    assert await _thresholds(sessions, group_id) == Thresholds(2, 10, 40, 80)
    # when it is reset
    variables = {"input": {"groupId": global_id("Group", group_id)}}
    reset = graphql_ok(await graphql(anonymous, RESET, variables, token=rep))
    assert reset["groupDelinquencyPolicyReset"]["group"]["delinquencyPolicy"] == _policy(
        DEFAULTS, own=False
    )
    # then it is on the defaults again, and every change is audited with before and after
    assert await _thresholds(sessions, group_id) == DEFAULT
    own = [
        {"firstNoticeDays": 3, "secondNoticeDays": 20, "suspensionDays": 45, "terminationDays": 90},
        {"firstNoticeDays": 2, "secondNoticeDays": 10, "suspensionDays": 40, "terminationDays": 80},
    ]
    assert await _audit(sessions, "groupDelinquencyPolicy.set") == [
        {"before": None, "after": own[0]}, {"before": own[0], "after": own[1]},
    ]  # fmt: skip
    assert await _audit(sessions, "groupDelinquencyPolicy.reset") == [
        {"before": own[1], "after": None}
    ]


@pytest.mark.parametrize(
    ("days", "errors"),
    [
        ((0, 15, 31, 61), [("DAYS_OUT_OF_RANGE", ["firstNoticeDays"])]),
        ((1, 15, 31, 366), [("DAYS_OUT_OF_RANGE", ["terminationDays"])]),
        ((1, 15, 15, 61), [("NOT_INCREASING", ["suspensionDays"])]),
        ((20, 15, 31, 30), [
            ("NOT_INCREASING", ["secondNoticeDays"]), ("NOT_INCREASING", ["terminationDays"]),
        ]),
    ],
)  # fmt: skip
async def test_thresholds_out_of_order_or_range_are_refused_naming_the_field(
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
    days: tuple[int, int, int, int],
    errors: list[tuple[str, list[str]]],
) -> None:
    # given
    rep, group_id = await _rep(tokens), await _group(sessions, "G970001", "OH")
    # when
    response = await graphql(anonymous, SET, _policy_input(group_id, days), token=rep)
    payload = graphql_ok(response)["groupDelinquencyPolicySet"]
    # then
    assert payload["group"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == errors
    assert all(e["message"] for e in payload["userErrors"])
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DelinquencyPolicy)) == 0


async def test_an_unknown_group_is_not_found(anonymous: httpx.AsyncClient, tokens: Tokens) -> None:
    rep = await _rep(tokens)
    for query, variables in (
        (SET, _policy_input(99_999_999, DEFAULTS)),
        (RESET, {"input": {"groupId": global_id("Member", 1)}}),
    ):
        data = graphql_ok(await graphql(anonymous, query, variables, token=rep))
        errors = next(iter(data.values()))["userErrors"]
        assert [(e["code"], e["field"]) for e in errors] == [("GROUP_NOT_FOUND", ["groupId"])]


def _extension_input(**overrides: Any) -> dict[str, Any]:
    given = {"startsOn": (TODAY - dt.timedelta(days=1)).isoformat(),
             "endsOn": (TODAY + dt.timedelta(days=30)).isoformat(), "extraDays": 14,
             "state": "fl", "reason": "Hurricane Milton"}  # fmt: skip
    return {"input": given | overrides}


async def test_a_grace_extension_is_declared_listed_applied_and_ended_early(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given a Florida group and an Ohio group
    rep = await _rep(tokens)
    florida, ohio = await _group(sessions, "G970002", "FL"), await _group(sessions, "G970003", "OH")
    # when a rep declares 14 extra days for Florida from yesterday for a month
    created = graphql_ok(await graphql(anonymous, CREATE, _extension_input(), token=rep))
    payload = created["graceExtensionCreate"]
    assert payload["userErrors"] == []
    extension = payload["graceExtension"]
    assert (extension["state"], extension["extraDays"], extension["reason"]) == (
        "FL", 14, "Hurricane Milton"
    )  # fmt: skip
    # then Florida groups suspend and terminate 14 days later today, Ohio's do not
    assert await _thresholds(sessions, florida) == Thresholds(1, 15, 45, 75)
    assert await _thresholds(sessions, ohio) == DEFAULT
    shown = graphql_ok(await graphql(anonymous, GROUP, {"number": "G970002"}, token=rep))
    assert shown["group"]["delinquencyPolicy"] == _policy((1, 15, 45, 75), own=False, extra=14)
    # and it is listed for today and in all, not for a day after it
    assert await _listed(anonymous, rep, TODAY) == [extension["id"]]
    assert await _listed(anonymous, rep, None) == [extension["id"]]
    assert await _listed(anonymous, rep, TODAY + dt.timedelta(days=31)) == []
    # when it is ended yesterday
    ended = graphql_ok(
        await graphql(
            anonymous,
            END,
            {
                "input": {
                    "id": extension["id"],
                    "endsOn": (TODAY - dt.timedelta(days=1)).isoformat(),
                }
            },
            token=rep,
        )
    )
    assert ended["graceExtensionEnd"]["userErrors"] == []  # fmt: skip
    # then it no longer applies today, and both changes are audited
    assert await _thresholds(sessions, florida) == DEFAULT
    assert await _listed(anonymous, rep, TODAY) == []
    [declared] = await _audit(sessions, "graceExtension.create")
    assert (declared["state"], declared["extraDays"], declared["reason"]) == (
        "FL", 14, "Hurricane Milton"
    )  # fmt: skip
    assert await _audit(sessions, "graceExtension.end") == [{"endsOn": {
        "before": (TODAY + dt.timedelta(days=30)).isoformat(),
        "after": (TODAY - dt.timedelta(days=1)).isoformat()}}]  # fmt: skip


async def _listed(client: httpx.AsyncClient, token: str, active_on: dt.date | None) -> list[str]:
    variables = {"activeOn": active_on and active_on.isoformat()}
    found = graphql_ok(await graphql(client, LIST, variables, token=token))["graceExtensions"]
    assert found["totalCount"] == len(found["edges"])
    return [edge["node"]["id"] for edge in found["edges"]]


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"reason": "  "}, [("REASON_REQUIRED", ["reason"])]),
        ({"state": "ZZ"}, [("STATE_INVALID", ["state"])]),
        ({"state": " "}, [("STATE_INVALID", ["state"])]),
        ({"extraDays": 0}, [("EXTRA_DAYS_OUT_OF_RANGE", ["extraDays"])]),
        ({"extraDays": 181}, [("EXTRA_DAYS_OUT_OF_RANGE", ["extraDays"])]),
        ({"startsOn": "2026-12-10", "endsOn": "2026-12-09"}, [("ENDS_BEFORE_START", ["endsOn"])]),
        ({"startsOn": "2027-01-01", "endsOn": "2028-01-02"}, [("TOO_LONG", ["endsOn"])]),
    ],
)
async def test_a_grace_extension_breaking_a_rule_is_refused(
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    errors: list[tuple[str, list[str]]],
) -> None:
    response = await graphql(
        anonymous, CREATE, _extension_input(**overrides), token=await _rep(tokens)
    )
    payload = graphql_ok(response)["graceExtensionCreate"]
    assert payload["graceExtension"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == errors
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(GraceExtension)) == 0


async def test_a_leap_years_366_days_and_no_state_are_allowed(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    given = _extension_input(startsOn="2028-01-01", endsOn="2028-12-31", state=None)
    created = graphql_ok(await graphql(anonymous, CREATE, given, token=await _rep(tokens)))
    assert created["graceExtensionCreate"]["graceExtension"]["state"] is None


@pytest.mark.parametrize(
    ("ends_on", "code"),
    [(dt.timedelta(days=-2), "ENDS_BEFORE_START"), (dt.timedelta(days=31), "NOT_EARLIER")],
)
async def test_an_extension_ends_only_earlier_and_not_before_it_starts(
    anonymous: httpx.AsyncClient, tokens: Tokens, ends_on: dt.timedelta, code: str
) -> None:
    # given
    rep = await _rep(tokens)
    created = graphql_ok(await graphql(anonymous, CREATE, _extension_input(), token=rep))
    extension_id = created["graceExtensionCreate"]["graceExtension"]["id"]
    # when
    variables = {"input": {"id": extension_id, "endsOn": (TODAY + ends_on).isoformat()}}
    ended = graphql_ok(await graphql(anonymous, END, variables, token=rep))["graceExtensionEnd"]
    # then
    assert [(e["code"], e["field"]) for e in ended["userErrors"]] == [(code, ["endsOn"])]
    missing = {"input": {"id": global_id("GraceExtension", 99_999_999), "endsOn": "2026-12-01"}}
    unknown = graphql_ok(await graphql(anonymous, END, missing, token=rep))["graceExtensionEnd"]
    assert unknown["userErrors"][0]["code"] == "EXTENSION_NOT_FOUND"


async def test_a_benefit_leader_may_not_see_or_change_delinquency_settings(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given a leader of G100001 (billing MANAGE)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    async with sessions() as session:
        group_id = await session.scalar(select(Group.id).where(Group.group_number == "G100001"))
    assert group_id is not None
    # when they try every field, then each is FORBIDDEN
    for query, variables in (
        (SET, _policy_input(group_id, (3, 20, 45, 90))),
        (RESET, {"input": {"groupId": global_id("Group", group_id)}}),
        (CREATE, _extension_input()),
        (END, {"input": {"id": global_id("GraceExtension", 1), "endsOn": "2026-12-01"}}),
        (LIST, {}),
        (GROUP, {"number": "G100001"}),
    ):
        response = await graphql(anonymous, query, variables, token=leader)
        assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN", query
    # and their own group's policy is null to them; nothing was written
    shown = (await graphql(anonymous, GROUP, {"number": "G100001"}, token=leader)).json()
    assert shown["data"]["group"] == {"delinquencyPolicy": None}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DelinquencyPolicy)) == 0
        assert await session.scalar(select(func.count()).select_from(GraceExtension)) == 0


async def test_an_extension_found_by_its_id_is_the_representatives_only(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    # given
    rep, leader = await _rep(tokens), await tokens.for_user("leader@demo.test", ALL_SCOPES)
    created = graphql_ok(await graphql(anonymous, CREATE, _extension_input(), token=rep))
    extension_id = created["graceExtensionCreate"]["graceExtension"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on GraceExtension { extraDays } } }"
    # when each looks it up, then only the rep finds it
    as_rep = graphql_ok(await graphql(anonymous, query, {"id": extension_id}, token=rep))
    assert as_rep["node"] == {"extraDays": 14}
    as_leader = graphql_ok(await graphql(anonymous, query, {"id": extension_id}, token=leader))
    assert as_leader["node"] is None
