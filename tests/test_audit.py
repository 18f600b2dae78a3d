"""The audit log: PHI reads and denials are recorded, PHI values never, and the table is
append-only in the database itself."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.policy import ALL_SCOPES, GROUP_READ
from api.services.audit import REDACTED, redact
from db.models import AuditEvent, AuditOutcome
from tests.helpers import Tokens, graphql, graphql_ok

ROSTER = '{ group(groupNumber: "G100001") { members(first: 50) { edges { node { lastName } } } } }'


async def _events(connection: AsyncConnection, action: str) -> list[AuditEvent]:
    rows = await connection.execute(select(AuditEvent).where(AuditEvent.action == action))
    return list(rows.all())  # type: ignore[arg-type]


async def test_a_roster_read_is_one_event_not_one_per_member(
    anonymous: httpx.AsyncClient, tokens: Tokens, connection: AsyncConnection
) -> None:
    # given a leader's token
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    # when they read 50 members
    response = await anonymous.post(
        "/graphql",
        json={"query": ROSTER},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "audit-test-0001"},
    )
    assert len(response.json()["data"]["group"]["members"]["edges"]) > 1
    # then one member.read event records who, from where and which request
    events = await _events(connection, "member.read")
    assert len(events) == 1
    event = events[0]
    assert event.actor_user_id == await tokens.user_id("leader@demo.test")
    assert event.actor_client_id == "portal-web"
    assert event.request_id == "audit-test-0001"
    assert event.outcome == AuditOutcome.ALLOWED


async def test_denied_attempts_are_recorded(
    anonymous: httpx.AsyncClient, tokens: Tokens, connection: AsyncConnection
) -> None:
    token = await tokens.for_user("leader@demo.test", {GROUP_READ})
    response = await graphql(anonymous, ROSTER, token=token)
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    events = await _events(connection, "denied:Group.members")
    assert [e.outcome for e in events] == [AuditOutcome.DENIED]


async def test_admins_search_the_log(anonymous: httpx.AsyncClient, tokens: Tokens) -> None:
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    admin = await tokens.for_user("admin@demo.test", ALL_SCOPES)
    await graphql(anonymous, ROSTER, token=leader)
    query = (
        '{ auditEvents(filter: {actionPrefix: "member."}) { totalCount '
        "edges { node { action targetType outcome } } } }"
    )
    log = graphql_ok(await graphql(anonymous, query, token=admin))["auditEvents"]
    assert log["totalCount"] >= 1
    assert log["edges"][0]["node"] == {
        "action": "member.read",
        "targetType": "Group",
        "outcome": "ALLOWED",
    }


def test_phi_values_are_redacted_but_field_names_kept() -> None:
    changes = {
        "firstName": "Ana",
        "ssn": "123-45-6789",
        "tier": "FAMILY",
        "address": {"line1": "1 Main"},
        "nested": {"dateOfBirth": "2000-01-01", "plan": "X"},
    }
    assert redact(changes) == {
        "firstName": REDACTED,
        "ssn": REDACTED,
        "tier": "FAMILY",
        "address": REDACTED,
        "nested": {"dateOfBirth": REDACTED, "plan": "X"},
    }


@pytest.mark.parametrize("statement", ["update", "delete"])
async def test_the_database_refuses_to_change_the_log(
    anonymous: httpx.AsyncClient, tokens: Tokens, connection: AsyncConnection, statement: str
) -> None:
    await graphql(anonymous, ROSTER, token=await tokens.for_user("leader@demo.test", ALL_SCOPES))
    change = (
        update(AuditEvent).values(action="tampered")
        if statement == "update"
        else delete(AuditEvent)
    )
    with pytest.raises(DBAPIError, match="append-only"):
        async with connection.begin_nested():
            await connection.execute(change)
    assert await connection.scalar(text("SELECT count(*) FROM audit_events")) >= 1


@pytest.mark.postgres_only
async def test_postgresql_refuses_to_truncate_the_log(connection: AsyncConnection) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with connection.begin_nested():
            await connection.execute(text("TRUNCATE audit_events"))
