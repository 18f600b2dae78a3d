"""groupCreate: a rep creates a group; bad input gets userErrors and nothing is saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES
from db.models import AuditEvent, Group
from tests.helpers import Tokens, graphql, graphql_ok

GROUP_CREATE = """
mutation ($input: GroupCreateInput!) {
  groupCreate(input: $input) {
    group { groupNumber name status billingMode effectiveDate address { state postalCode } }
    userErrors { field message code }
  }
}
"""


def _input(**overrides: Any) -> dict[str, Any]:
    return {
        "groupNumber": "G900001",
        "name": "Prairie Wind Outfitters LLC",
        "address": {"line1": "12 Elm St", "city": "Austin", "state": "tx", "postalCode": "78701"},
        "billingMode": "LIST_BILL",
        "effectiveDate": "2027-01-01",
        **overrides,
    }


async def test_a_rep_creates_a_group_in_pending_setup(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    payload = graphql_ok(await graphql(client, GROUP_CREATE, {"input": _input()}))["groupCreate"]
    assert payload["userErrors"] == []
    assert payload["group"] == {
        "groupNumber": "G900001",
        "name": "Prairie Wind Outfitters LLC",
        "status": "PENDING_SETUP",
        "billingMode": "LIST_BILL",
        "effectiveDate": "2027-01-01",
        "address": {"state": "TX", "postalCode": "78701"},
    }
    audit = await connection.scalar(
        select(func.count()).where(
            AuditEvent.action == "group.create", AuditEvent.target_id == "G900001"
        )
    )
    assert audit == 1


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"groupNumber": "100001"}, "INVALID_GROUP_NUMBER", ["groupNumber"]),
        ({"groupNumber": "G100001"}, "GROUP_NUMBER_TAKEN", ["groupNumber"]),
        ({"name": "  "}, "INVALID_NAME", ["name"]),
        ({"effectiveDate": "2027-01-15"}, "EFFECTIVE_DATE_NOT_FIRST_OF_MONTH", ["effectiveDate"]),
        (
            {"address": {"line1": "1 A St", "city": "X", "state": "Texas", "postalCode": "7870"}},
            "INVALID_ADDRESS",
            ["address", "state"],
        ),
    ],
)
async def test_bad_input_is_a_user_error_and_nothing_is_saved(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    overrides: dict[str, Any],
    code: str,
    field: list[str],
) -> None:
    before = await connection.scalar(select(func.count()).select_from(Group))
    payload = graphql_ok(await graphql(client, GROUP_CREATE, {"input": _input(**overrides)}))[
        "groupCreate"
    ]
    assert payload["group"] is None
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in payload["userErrors"]
    ]
    assert all(error["message"] for error in payload["userErrors"])
    assert await connection.scalar(select(func.count()).select_from(Group)) == before


async def test_benefit_leaders_cannot_create_groups(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, GROUP_CREATE, {"input": _input()}, token=token)
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
