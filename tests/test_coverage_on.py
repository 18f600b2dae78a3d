"""``coverageOn`` and ``groupClaimsStatus`` for the claims system and staff (issue 5;
SPEC §2 Delinquency: claims pend for a suspended group's members)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.services.coverage_on import age_on
from db.models import AuditEvent, Coverage, Group, GroupStatus, Member
from tests.helpers import Tokens, graphql, graphql_errors, graphql_ok

COVERAGE_ON = """
query CoverageOn($memberId: String!, $date: Date!) {
  coverageOn(memberId: $memberId, date: $date) {
    member { memberId firstName lastName }
    date covered plan { code } tier span { start end } claimsPended reason message
  }
}
"""

CLAIMS_STATUS = """
query Status($number: String!) {
  groupClaimsStatus(groupNumber: $number) { groupNumber status claimsPended }
}
"""


async def _coverage_on(
    client: httpx.AsyncClient, member_id: str, day: dt.date, token: str | None = None
) -> dict[str, Any] | None:
    variables = {"memberId": member_id, "date": day.isoformat()}
    data = graphql_ok(await graphql(client, COVERAGE_ON, variables, token=token))
    result: dict[str, Any] | None = data["coverageOn"]
    return result


async def _span(
    connection: AsyncConnection, group_number: str, *, ended: bool
) -> tuple[str, Coverage]:
    """A member of the group with a span that is open-ended (or has ended)."""
    ending = (
        Coverage.termination_date.is_not(None) if ended else Coverage.termination_date.is_(None)
    )
    row = (
        await connection.execute(
            select(Member.member_id, Coverage.effective_date, Coverage.termination_date)
            .join(Coverage, Coverage.member_id == Member.id)
            .join(Group, Group.id == Member.group_id)
            .where(Group.group_number == group_number, ending)
            .order_by(Member.member_id)
            .limit(1)
        )
    ).one()
    return row[0], Coverage(effective_date=row[1], termination_date=row[2])


async def test_a_covered_member(client: httpx.AsyncClient, connection: AsyncConnection) -> None:
    # given a member with open-ended coverage
    member_id, span = await _span(connection, "G100001", ended=False)
    # when asking for a day in the span
    found = await _coverage_on(client, member_id, span.effective_date)
    # then the member is covered and claims pay
    assert found is not None
    assert found["member"]["memberId"] == member_id
    assert found["covered"] is True
    assert found["plan"]["code"]
    assert found["tier"]
    assert found["span"] == {"start": span.effective_date.isoformat(), "end": None}
    assert (found["claimsPended"], found["reason"], found["message"]) == (False, None, None)


async def test_a_terminated_member(client: httpx.AsyncClient, connection: AsyncConnection) -> None:
    # given a span that ended
    member_id, span = await _span(connection, "G100001", ended=True)
    assert span.termination_date is not None
    day_after = span.termination_date + dt.timedelta(days=1)
    # when asking for its last day and the day after
    last_day = await _coverage_on(client, member_id, span.termination_date)
    after = await _coverage_on(client, member_id, day_after)
    # then the last day is covered (both ends included); afterwards maybe not
    assert last_day is not None
    assert last_day["covered"] is True
    assert after is not None
    if not after["covered"]:  # unless a later span follows at once
        assert after["reason"] in {"TERMINATED", "NOT_YET_EFFECTIVE"}
        assert after["plan"] is None
        assert after["span"] is None
        assert after["message"]


async def test_before_coverage_starts(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    member_id, _span_row = await _span(connection, "G100001", ended=False)
    found = await _coverage_on(client, member_id, dt.date(1990, 1, 1))
    assert found is not None
    assert (found["covered"], found["reason"]) == (False, "NOT_YET_EFFECTIVE")


async def test_an_unknown_member_is_null(client: httpx.AsyncClient) -> None:
    assert await _coverage_on(client, "99999999900", dt.date(2026, 11, 1)) is None


async def test_another_groups_member_is_null_for_a_leader(
    client: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given a member of a group the viewer has no grant for, and one of their own group
    theirs, _ = await _span(connection, "G100001", ended=False)
    other, _ = await _span(connection, "G100003", ended=False)
    token = await tokens.for_user("viewer@demo.test", {"group:read", "eligibility:read"})
    # then the other group's member is indistinguishable from one that does not exist
    assert await _coverage_on(client, other, dt.date(2026, 11, 1), token) is None
    assert await _coverage_on(client, theirs, dt.date(2026, 11, 1), token) is not None


async def test_a_suspended_groups_member_has_claims_pended(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a suspended group
    member_id, span = await _span(connection, "G100002", ended=False)
    await connection.execute(
        update(Group).where(Group.group_number == "G100002").values(status=GroupStatus.SUSPENDED)
    )
    # when the claims system asks
    found = await _coverage_on(client, member_id, span.effective_date)
    status = graphql_ok(await graphql(client, CLAIMS_STATUS, {"number": "G100002"}))
    # then the member is covered but claims pend
    assert found is not None
    assert (found["covered"], found["claimsPended"]) == (True, True)
    assert found["reason"] == "GROUP_SUSPENDED"
    assert status["groupClaimsStatus"] == {
        "groupNumber": "G100002",
        "status": "SUSPENDED",
        "claimsPended": True,
    }


async def test_claims_system_client_reads_coverage_and_is_audited(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given the claims system's client-credentials token
    token = tokens.for_client("claims-system", {"group:read", "eligibility:read"})
    member_id, span = await _span(connection, "G100004", ended=False)
    # when it asks
    found = await _coverage_on(anonymous, member_id, span.effective_date, token)
    status = graphql_ok(await graphql(anonymous, CLAIMS_STATUS, {"number": "G100004"}, token=token))
    # then it gets the answer, and the PHI read is audited against the client
    assert found is not None
    assert found["covered"] is True
    assert status["groupClaimsStatus"]["claimsPended"] is False
    events = (
        await connection.execute(
            select(AuditEvent.actor_client_id).where(
                AuditEvent.action == "member.read", AuditEvent.target_id == member_id
            )
        )
    ).all()
    assert [row[0] for row in events] == ["claims-system"]


@pytest.mark.parametrize("scopes", [{"group:read"}, {"eligibility:read"}])
async def test_without_the_scope_it_is_forbidden(
    anonymous: httpx.AsyncClient, tokens: Tokens, scopes: set[str]
) -> None:
    token = tokens.for_client("claims-system", scopes)
    query, variables = (
        (COVERAGE_ON, {"memberId": "10000000100", "date": "2026-11-01"})
        if "group:read" in scopes
        else (CLAIMS_STATUS, {"number": "G100001"})
    )
    errors = graphql_errors(await graphql(anonymous, query, variables, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_unknown_group_claims_status_is_null(client: httpx.AsyncClient) -> None:
    data = graphql_ok(await graphql(client, CLAIMS_STATUS, {"number": "G999999"}))
    assert data["groupClaimsStatus"] is None


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (dt.date(2000, 6, 15), dt.date(2026, 6, 14), 25),
        (dt.date(2000, 6, 15), dt.date(2026, 6, 15), 26),
        (dt.date(2000, 2, 29), dt.date(2026, 2, 28), 25),
        (dt.date(2000, 2, 29), dt.date(2026, 3, 1), 26),
    ],
)
def test_age_on(born: dt.date, on: dt.date, age: int) -> None:
    assert age_on(born, on) == age
