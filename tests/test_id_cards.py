"""ID cards (SPEC §2): automatic and replacement requests, the fulfilment workflow,
due dates in business days, breaches and the digital card PDF."""

from __future__ import annotations

import datetime as dt
import re
import zlib

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES, GROUP_READ
from api.services.business_days import add_business_days
from api.services.eligibility import changes as c
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import run_item
from api.services.eligibility.rules import Limits
from api.services.id_cards import due_on, request_new_enrollment_card
from db.models import Group, IdCardRequest, Member, Relationship
from tests.eligibility_support import group_and_plans, unique_person
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

REQUEST = """
mutation Request($input: IdCardsRequestInput!) {
  idCardsRequest(input: $input) {
    requests { id reason status dueOn isBreached member { memberId } }
    userErrors { code field message }
  }
}
"""
UPDATE = """
mutation Update($input: IdCardRequestUpdateInput!) {
  idCardRequestUpdate(input: $input) {
    request { id status printedAt mailedAt }
    userErrors { code field message }
  }
}
"""
QUEUE = """
query Queue($breachedOnly: Boolean!, $group: String) {
  idCardRequests(first: 100, breachedOnly: $breachedOnly, groupNumber: $group) {
    totalCount edges { node { id status dueOn isBreached member { memberId } } }
  }
}
"""
MEMBER_CARDS = """
query Cards($id: ID!) { node(id: $id) { ... on Member { idCardRequests { reason status } } } }
"""


async def _subscriber(connection: AsyncConnection, group_number: str) -> tuple[int, str]:
    stmt = (
        select(Member.id, Member.member_id)
        .join(Group, Group.id == Member.group_id)
        .where(Group.group_number == group_number, Member.relationship == Relationship.SUBSCRIBER)
        .order_by(Member.id)
        .limit(1)
    )
    row = (await connection.execute(stmt)).one()
    return int(row[0]), str(row[1])


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (dt.date(2026, 12, 23), dt.date(2027, 1, 8)),  # skips Christmas and New Year's Day
        (dt.date(2026, 11, 13), dt.date(2026, 11, 30)),  # Friday; skips Thanksgiving (26th)
        (dt.date(2026, 3, 2), dt.date(2026, 3, 16)),  # no holidays: two weeks
        (dt.date(2026, 3, 7), dt.date(2026, 3, 20)),  # a Saturday request counts from Monday
    ],
)
def test_due_date_counts_business_days(start: dt.date, expected: dt.date) -> None:
    assert add_business_days(start, 10) == expected


async def test_new_enrollment_card_is_queued_with_due_date(
    connection: AsyncConnection, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given
    member_pk, _ = await _subscriber(connection, "G100001")
    now = dt.datetime(2026, 12, 23, 15, 0, tzinfo=dt.UTC)
    # when
    async with sessions() as session:
        await request_new_enrollment_card(session, member_id=member_pk, now=now)
        await session.commit()
    # then
    stmt = select(IdCardRequest.reason, IdCardRequest.status, IdCardRequest.due_on).where(
        IdCardRequest.member_id == member_pk
    )
    reason, status, due = (await connection.execute(stmt)).one()
    assert (reason, status, due) == ("NEW_ENROLLMENT", "QUEUED", dt.date(2027, 1, 8))
    assert due_on(now) == dt.date(2027, 1, 8)


async def test_leader_with_manage_requests_replacements(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given
    member_pk, member_id = await _subscriber(connection, "G100001")
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    variables = {"input": {"memberIds": [global_id("Member", member_pk)], "reason": "LOST"}}
    # when
    data = graphql_ok(await graphql(anonymous, REQUEST, variables, token=token))
    # then
    payload = data["idCardsRequest"]
    assert payload["userErrors"] == []
    [request] = payload["requests"]
    assert (request["status"], request["reason"], request["isBreached"]) == (
        "QUEUED",
        "LOST",
        False,
    )
    assert request["member"]["memberId"] == member_id
    cards = graphql_ok(
        await graphql(anonymous, MEMBER_CARDS, {"id": global_id("Member", member_pk)}, token=token)
    )
    assert {"reason": "LOST", "status": "QUEUED"} in cards["node"]["idCardRequests"]


async def test_viewer_cannot_request_cards(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    member_pk, _ = await _subscriber(connection, "G100001")
    token = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    variables = {"input": {"memberIds": [global_id("Member", member_pk)], "reason": "LOST"}}
    errors = graphql_errors(await graphql(anonymous, REQUEST, variables, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    count = await connection.scalar(
        select(IdCardRequest.id).where(IdCardRequest.member_id == member_pk)
    )
    assert count is None


async def test_other_groups_member_is_not_found(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    member_pk, _ = await _subscriber(connection, "G100003")
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    variables = {"input": {"memberIds": [global_id("Member", member_pk)], "reason": "LOST"}}
    data = graphql_ok(await graphql(anonymous, REQUEST, variables, token=token))
    assert data["idCardsRequest"]["requests"] == []
    assert [e["code"] for e in data["idCardsRequest"]["userErrors"]] == ["MEMBER_NOT_FOUND"]


async def test_more_than_100_members_is_refused(client: httpx.AsyncClient) -> None:
    ids = [global_id("Member", n) for n in range(1, 102)]
    variables = {"input": {"memberIds": ids, "reason": "OTHER"}}
    data = graphql_ok(await graphql(client, REQUEST, variables))
    assert [e["code"] for e in data["idCardsRequest"]["userErrors"]] == ["TOO_MANY_MEMBERS"]


async def _request(client: httpx.AsyncClient, member_pk: int) -> str:
    variables = {"input": {"memberIds": [global_id("Member", member_pk)], "reason": "DAMAGED"}}
    data = graphql_ok(await graphql(client, REQUEST, variables))
    request_id: str = data["idCardsRequest"]["requests"][0]["id"]
    return request_id


async def test_status_moves_forward_only_with_timestamps(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    member_pk, _ = await _subscriber(connection, "G100002")
    request_id = await _request(client, member_pk)
    # when
    printed = graphql_ok(
        await graphql(client, UPDATE, {"input": {"id": request_id, "status": "PRINTED"}})
    )["idCardRequestUpdate"]
    mailed = graphql_ok(
        await graphql(client, UPDATE, {"input": {"id": request_id, "status": "MAILED"}})
    )["idCardRequestUpdate"]
    back = graphql_ok(
        await graphql(client, UPDATE, {"input": {"id": request_id, "status": "PRINTED"}})
    )["idCardRequestUpdate"]
    # then
    assert printed["request"]["printedAt"]
    assert printed["request"]["mailedAt"] is None
    assert mailed["request"]["status"] == "MAILED"
    assert mailed["request"]["mailedAt"]
    assert back["request"] is None
    assert [e["code"] for e in back["userErrors"]] == ["INVALID_TRANSITION"]


async def test_leader_cannot_update_status(
    anonymous: httpx.AsyncClient,
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    member_pk, _ = await _subscriber(connection, "G100001")
    request_id = await _request(client, member_pk)
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    variables = {"input": {"id": request_id, "status": "MAILED"}}
    errors = graphql_errors(await graphql(anonymous, UPDATE, variables, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_breached_requests_are_listed(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given: one request a year old (breached) and one made now (not)
    old_pk, old_id = await _subscriber(connection, "G100004")
    async with sessions() as session:
        await request_new_enrollment_card(
            session, member_id=old_pk, now=dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
        )
        await session.commit()
    await _request(client, old_pk)
    # when
    breached = graphql_ok(await graphql(client, QUEUE, {"breachedOnly": True, "group": "G100004"}))[
        "idCardRequests"
    ]
    everything = graphql_ok(
        await graphql(client, QUEUE, {"breachedOnly": False, "group": "G100004"})
    )["idCardRequests"]
    # then
    assert breached["totalCount"] == 1
    node = breached["edges"][0]["node"]
    assert (node["isBreached"], node["dueOn"], node["member"]["memberId"]) == (
        True,
        "2025-01-21",  # 10 business days, skipping Martin Luther King Jr. Day (Jan 20)
        old_id,
    )
    assert everything["totalCount"] == 2


async def test_leader_cannot_list_the_queue(anonymous: httpx.AsyncClient, tokens: Tokens) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, QUEUE, {"breachedOnly": False}, token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"


def _pdf_text(body: bytes) -> bytes:
    """The PDF's content streams, inflated (fpdf2 compresses them)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.DOTALL)
    return b"".join(zlib.decompress(stream) for stream in streams if stream[:1] == b"x")


async def test_id_card_pdf_downloads(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given
    _, member_id = await _subscriber(connection, "G100001")
    # when
    response = await client.get(f"/documents/id-card/{member_id}.pdf")
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response.content)
    assert member_id.encode() in text
    assert b"G100001" in text


async def test_id_card_pdf_needs_a_token(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    _, member_id = await _subscriber(connection, "G100001")
    response = await anonymous.get(f"/documents/id-card/{member_id}.pdf")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_id_card_pdf_of_invisible_member_is_404(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    _, member_id = await _subscriber(connection, "G100003")
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    headers = {"Authorization": f"Bearer {token}"}
    other = await anonymous.get(f"/documents/id-card/{member_id}.pdf", headers=headers)
    missing = await anonymous.get("/documents/id-card/99999999999.pdf", headers=headers)
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == missing.json()


async def test_id_card_pdf_needs_eligibility_read(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    _, member_id = await _subscriber(connection, "G100001")
    token = await tokens.for_user("leader@demo.test", {GROUP_READ})
    response = await anonymous.get(
        f"/documents/id-card/{member_id}.pdf", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


async def test_a_new_subscribers_card_uses_the_configured_business_days(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given a carrier that mails cards within 3 business days
    async with sessions() as session:
        group, plans = await group_and_plans(session)
        limits = Limits(id_card_business_days=3)
        now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)  # the Tuesday before Thanksgiving
        change = c.AddSubscriber(dt.date(2026, 12, 1), c.ChangeReason.NEW_HIRE, unique_person(),
                                 plans[0])  # fmt: skip
        # when a subscriber is added
        outcome = await run_item(ItemContext(session, group, now.date(), now, limits), change)
        # then the card is due 3 business days later: Wed 25, (Thanksgiving) Fri 27, Mon 30
        card = await session.scalar(
            select(IdCardRequest).where(IdCardRequest.member_id == outcome.member_pk)
        )
        assert card is not None
        assert card.due_on == dt.date(2026, 11, 30)
