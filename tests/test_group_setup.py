"""Group setup over GraphQL: a rep shapes a group (update, plans, rates, contacts) and
activates it; EDI operations is told to load eligibility; leaders may do none of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES
from api.services.dates import add_months, today
from api.settings import Settings
from db.models import (
    AuditEvent,
    Group,
    GroupContact,
    GroupStatus,
    OutboundEmail,
)
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok
from tests.test_eligibility_changes import SUBMIT, add_subscriber, batch

GROUP_CREATE = """
mutation ($input: GroupCreateInput!) {
  groupCreate(input: $input) { group { id groupNumber } userErrors { field code } }
}
"""
GROUP_UPDATE = """
mutation ($input: GroupUpdateInput!) {
  groupUpdate(input: $input) {
    group { name billingMode effectiveDate address { city state } }
    userErrors { field message code }
  }
}
"""
GROUP_PLAN_ADD = """
mutation ($input: GroupPlanAddInput!) {
  groupPlanAdd(input: $input) {
    group { plans { code } } plan { code } userErrors { field message code }
  }
}
"""
RATE_SCHEDULE_CREATE = """
mutation ($input: RateScheduleCreateInput!) {
  rateScheduleCreate(input: $input) {
    rateSchedule { plan { code } period { start end } } userErrors { field message code }
  }
}
"""
CONTACT_ADD = """
mutation ($input: GroupContactAddInput!) {
  groupContactAdd(input: $input) {
    contact { id kind name email phone } userErrors { field message code }
  }
}
"""
CONTACT_REMOVE = """
mutation ($input: GroupContactRemoveInput!) {
  groupContactRemove(input: $input) { removedContactId userErrors { field message code } }
}
"""
GROUP_ACTIVATE = """
mutation ($input: GroupActivateInput!) {
  groupActivate(input: $input) { group { status } userErrors { field message code } }
}
"""
GROUP_SETUP = """
query ($number: String!) {
  group(groupNumber: $number) {
    status plans { code } contacts { kind name email }
    rateSchedules { totalCount edges { node { plan { code } period { start end } } } }
  }
}
"""
RATES = {
    "employee": "41.50",
    "employeeSpouse": "83.00",
    "employeeChildren": "79.25",
    "family": "120",
}


# The new group starts next month, so that enrolling its first subscriber is within the
# eligibility rules (up to 90 days ahead applies at once) whenever the suite runs.
START = add_months(today().replace(day=1), 1)


def _first(months_after_start: int) -> str:
    return add_months(START, months_after_start).isoformat()


def _last(months_after_start: int) -> str:
    return (add_months(START, months_after_start + 1) - dt.timedelta(days=1)).isoformat()


async def _ok(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    """The mutation's payload, which must have no userErrors."""
    data = graphql_ok(await graphql(client, query, variables))
    (payload,) = data.values()
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


async def _refused(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    data = graphql_ok(await graphql(client, query, variables))
    (payload,) = data.values()
    assert payload["userErrors"], payload
    assert all(error["message"] for error in payload["userErrors"])
    return payload


async def _new_group(client: httpx.AsyncClient, number: str = "G900101") -> str:
    new = {
        "groupNumber": number,
        "name": "Juniper Ridge Bakery LLC",
        "address": {"line1": "9 Oak Ave", "city": "Boise", "state": "ID", "postalCode": "83702"},
        "billingMode": "LIST_BILL",
        "effectiveDate": START.isoformat(),
    }
    payload = await _ok(client, GROUP_CREATE, {"input": new})
    group_id: str = payload["group"]["id"]
    return group_id


def _schedule(group_id: str, plan: str, start: str, end: str) -> dict[str, Any]:
    return {
        "input": {
            "groupId": group_id,
            "planCode": plan,
            "effectiveFrom": start,
            "effectiveTo": end,
            "rates": RATES,
        }
    }


async def _enroll_subscriber(client: httpx.AsyncClient, group_id: str) -> None:
    """Through the eligibility path a benefit leader (here, the rep) uses."""
    change = add_subscriber("Ada", START)
    data = await _ok(client, SUBMIT, batch(group_id, "setup-enroll-1", [change]))
    assert [c["status"] for c in data["changes"]] == ["APPLIED"], data


async def test_a_rep_sets_up_a_group_and_activates_it(
    client: httpx.AsyncClient, connection: AsyncConnection, settings: Settings
) -> None:
    # given a new group offering two plans, with rates for both (DHMO's start too late)
    group_id = await _new_group(client)
    for plan in ("DPPO-PLUS", "DHMO-100"):
        await _ok(client, GROUP_PLAN_ADD, {"input": {"groupId": group_id, "planCode": plan}})
    await _ok(client, RATE_SCHEDULE_CREATE, _schedule(group_id, "DPPO-PLUS", _first(0), _last(11)))
    await _ok(client, RATE_SCHEDULE_CREATE, _schedule(group_id, "DHMO-100", _first(1), _last(12)))
    for kind, email in (("BENEFIT_LEADER", "hr@juniper.test"), ("BILLING", "ap@juniper.test")):
        contact = {"groupId": group_id, "kind": kind, "name": "Pat Lee", "email": email}
        await _ok(client, CONTACT_ADD, {"input": contact})
    # when activating: one userError per unmet precondition
    refused = await _refused(client, GROUP_ACTIVATE, {"input": {"id": group_id}})
    assert refused["group"] is None
    assert sorted((e["code"], e["field"]) for e in refused["userErrors"]) == [
        ("NO_SUBSCRIBER_ENROLLED", None),
        ("PLAN_WITHOUT_RATES", ["plans", "DHMO-100"]),
    ]
    # when the gaps are filled and it is activated again
    await _ok(client, RATE_SCHEDULE_CREATE, _schedule(group_id, "DHMO-100", _first(0), _last(0)))
    await _enroll_subscriber(client, group_id)
    activated = await _ok(client, GROUP_ACTIVATE, {"input": {"id": group_id}})
    # then the group is ACTIVE and EDI operations has an email about it
    assert activated["group"] == {"status": "ACTIVE"}
    columns = (OutboundEmail.to_address, OutboundEmail.subject, OutboundEmail.body_text)
    sent = (
        await connection.execute(
            select(*columns).where(
                OutboundEmail.kind == "edi.initial_eligibility",
                OutboundEmail.related_id == "G900101",
            )
        )
    ).one()
    assert sent.to_address == settings.edi_operations_email
    assert "G900101" in sent.subject
    assert all(part in sent.body_text for part in ("DPPO-PLUS", "DHMO-100", _first(0)))
    group = graphql_ok(await graphql(client, GROUP_SETUP, {"number": "G900101"}))["group"]
    assert [plan["code"] for plan in group["plans"]] == ["DHMO-100", "DPPO-PLUS"]
    assert {contact["kind"] for contact in group["contacts"]} == {"BENEFIT_LEADER", "BILLING"}
    assert group["rateSchedules"]["totalCount"] == 3
    audited = await connection.scalars(
        select(AuditEvent.action).where(AuditEvent.target_id == "G900101")
    )
    assert {"group.planAdd", "rateSchedule.create", "group.contactAdd", "group.activate"} <= set(
        audited
    )


async def test_a_group_without_plans_cannot_be_activated(client: httpx.AsyncClient) -> None:
    group_id = await _new_group(client)
    refused = await _refused(client, GROUP_ACTIVATE, {"input": {"id": group_id}})
    assert {e["code"] for e in refused["userErrors"]} == {
        "NO_PLANS_OFFERED",
        "NO_SUBSCRIBER_ENROLLED",
    }


@pytest.mark.parametrize(
    ("target", "code"),
    [(global_id("Group", 1), "NOT_PENDING_SETUP"), (global_id("Plan", 1), "GROUP_NOT_FOUND")],
)
async def test_only_a_pending_group_is_activated(
    client: httpx.AsyncClient, connection: AsyncConnection, target: str, code: str
) -> None:
    before = await connection.scalar(select(func.count()).select_from(OutboundEmail))
    refused = await _refused(client, GROUP_ACTIVATE, {"input": {"id": target}})
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [(code, ["id"])]
    assert await connection.scalar(select(func.count()).select_from(OutboundEmail)) == before


async def test_group_update_changes_only_the_fields_given(client: httpx.AsyncClient) -> None:
    group_id = await _new_group(client)
    changes = {"id": group_id, "name": "Juniper Ridge Bakery Inc", "effectiveDate": "2027-03-01"}
    payload = await _ok(client, GROUP_UPDATE, {"input": changes})
    assert payload["group"] == {
        "name": "Juniper Ridge Bakery Inc",
        "billingMode": "LIST_BILL",
        "effectiveDate": "2027-03-01",
        "address": {"city": "Boise", "state": "ID"},
    }


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"name": " "}, "INVALID_NAME", ["name"]),
        ({"effectiveDate": "2027-03-02"}, "EFFECTIVE_DATE_NOT_FIRST_OF_MONTH", ["effectiveDate"]),
        (
            {"address": {"line1": "1 A St", "city": "Boise", "state": "ID", "postalCode": "1"}},
            "INVALID_ADDRESS",
            ["address", "postalCode"],
        ),
    ],
)
async def test_group_update_refuses_bad_values(
    client: httpx.AsyncClient, changes: dict[str, Any], code: str, field: list[str]
) -> None:
    group_id = await _new_group(client)
    refused = await _refused(client, GROUP_UPDATE, {"input": {"id": group_id, **changes}})
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [(code, field)]


async def test_an_active_groups_effective_date_is_locked(client: httpx.AsyncClient) -> None:
    changes = {"id": global_id("Group", 1), "effectiveDate": "2030-01-01"}
    refused = await _refused(client, GROUP_UPDATE, {"input": changes})
    assert [e["code"] for e in refused["userErrors"]] == ["EFFECTIVE_DATE_LOCKED"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (GROUP_UPDATE, {"id": global_id("Group", 3), "name": "New name"}),
        (GROUP_PLAN_ADD, {"groupId": global_id("Group", 3), "planCode": "DHMO-200"}),
    ],
    ids=["update", "planAdd"],
)
async def test_a_terminated_group_cannot_be_edited(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    query: str,
    variables: dict[str, Any],
) -> None:
    # given a terminated group
    await connection.execute(
        update(Group).where(Group.id == 3).values(status=GroupStatus.TERMINATED)
    )
    # when a rep edits it, then it is refused
    refused = await _refused(client, query, {"input": variables})
    assert [e["code"] for e in refused["userErrors"]] == ["GROUP_TERMINATED"]


async def test_null_is_not_a_change(client: httpx.AsyncClient) -> None:
    response = await graphql(
        client, GROUP_UPDATE, {"input": {"id": global_id("Group", 1), "name": None}}
    )
    assert graphql_errors(response)


@pytest.mark.parametrize(
    ("plan", "code"), [("NOPE-1", "UNKNOWN_PLAN"), ("DPPO-PLUS", "PLAN_ALREADY_OFFERED")]
)
async def test_group_plan_add_refuses(client: httpx.AsyncClient, plan: str, code: str) -> None:
    group_id = await _new_group(client)
    await _ok(client, GROUP_PLAN_ADD, {"input": {"groupId": group_id, "planCode": "DPPO-PLUS"}})
    refused = await _refused(
        client, GROUP_PLAN_ADD, {"input": {"groupId": group_id, "planCode": plan}}
    )
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [(code, ["planCode"])]


async def test_contacts_are_added_checked_and_removed(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    group_id = await _new_group(client)
    contact = {
        "groupId": group_id,
        "kind": "SALES_REPRESENTATIVE",
        "name": "Sam Rowe",
        "email": "Sam.Rowe@carrier.test",
        "phone": "(512) 555-0142",
    }
    added = (await _ok(client, CONTACT_ADD, {"input": contact}))["contact"]
    assert added["phone"] == "5125550142"
    duplicate = {**contact, "email": "sam.rowe@CARRIER.test"}
    refused = await _refused(client, CONTACT_ADD, {"input": duplicate})
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("CONTACT_EXISTS", ["email"])
    ]
    bad = {**contact, "name": "", "email": "not-an-email", "phone": "12"}
    refused = await _refused(client, CONTACT_ADD, {"input": bad})
    assert {e["code"] for e in refused["userErrors"]} == {
        "INVALID_NAME",
        "INVALID_EMAIL",
        "INVALID_PHONE",
    }
    await _ok(client, CONTACT_REMOVE, {"input": {"id": added["id"]}})
    assert await connection.scalar(select(func.count()).select_from(GroupContact)) == 0
    refused = await _refused(client, CONTACT_REMOVE, {"input": {"id": added["id"]}})
    assert [e["code"] for e in refused["userErrors"]] == ["CONTACT_NOT_FOUND"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (GROUP_UPDATE, {"id": global_id("Group", 1), "name": "X"}),
        (GROUP_PLAN_ADD, {"groupId": global_id("Group", 1), "planCode": "DHMO-200"}),
        (GROUP_ACTIVATE, {"id": global_id("Group", 1)}),
        (
            CONTACT_ADD,
            {"groupId": global_id("Group", 1), "kind": "BILLING", "name": "X", "email": "x@y.z"},
        ),
        (CONTACT_REMOVE, {"id": global_id("GroupContact", 1)}),
        (
            RATE_SCHEDULE_CREATE,
            _schedule(global_id("Group", 1), "DPPO-PLUS", "2040-01-01", "2040-12-31")["input"],
        ),
    ],
    ids=["update", "planAdd", "activate", "contactAdd", "contactRemove", "rateScheduleCreate"],
)
async def test_benefit_leaders_cannot_set_up_groups(
    anonymous: httpx.AsyncClient, tokens: Tokens, query: str, variables: dict[str, Any]
) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, query, {"input": variables}, token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"
