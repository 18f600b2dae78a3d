"""Access issues over the real app (SPEC §2 Web access; issue 9): anonymous and signed-in
reports, the only token-free operation, rate limits that count refused requests, the
support queue and its workflow, replies that reach a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.auth.policy import ACCESS_REPORT, ALL_SCOPES
from api.services.access_issues import first_response_due, is_breached
from api.services.dates import utc_now
from api.services.mail import deliver_due
from api.settings import Settings
from db.models import AccessIssue, AccessIssueEntry, AuditEvent, RateLimitCounter
from tests.access_issue_support import REPORT, Mailbox, free_port, make_issue, report_input
from tests.helpers import StatementCounter, Tokens, global_id, graphql, graphql_errors, graphql_ok

QUEUE = """
query($filter: AccessIssueFilter, $first: Int = 20, $order: AccessIssueOrder) {
  accessIssues(first: $first, filter: $filter, orderBy: $order) {
    totalCount
    edges { node {
      id reference status category reporterEmail firstResponseBreached firstRespondedAt
      ageHours assignee { email } subjectUser { email portalUserId }
      entries { kind body author { email } }
    } }
  }
}
"""
STATUS_SET = """
mutation($input: AccessIssueStatusSetInput!) {
  accessIssueStatusSet(input: $input) {
    accessIssue { status resolvedAt firstRespondedAt entries { kind body } }
    userErrors { field code message }
  }
}
"""
REPLY = """
mutation($input: AccessIssueReplyInput!) {
  accessIssueReply(input: $input) {
    accessIssue { firstRespondedAt entries { kind body author { email } } }
    userErrors { code }
  }
}
"""
ASSIGN = """
mutation($input: AccessIssueAssignInput!) {
  accessIssueAssign(input: $input) {
    accessIssue { assignee { email } entries { kind body } }
    userErrors { code field }
  }
}
"""
NOTE_ADD = """
mutation($input: AccessIssueNoteAddInput!) {
  accessIssueNoteAdd(input: $input) { accessIssue { entries { kind body } } userErrors { code } }
}
"""


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(
        update={"mail_mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": mailbox.port}
    )


@pytest.fixture
async def support(tokens: Tokens) -> str:
    return await tokens.for_user("support@demo.test", ALL_SCOPES)


def _payload(response: httpx.Response, field: str) -> dict[str, Any]:
    payload: dict[str, Any] = graphql_ok(response)[field]
    return payload


async def _row(connection: AsyncConnection, reference: str) -> Any:
    stmt = select(AccessIssue.__table__).where(AccessIssue.reference == reference)
    return (await connection.execute(stmt)).one()


# --- reporting --------------------------------------------------------------------------


async def test_anonymous_report_works_without_a_token_and_is_confirmed_by_email(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    smtp_settings: Settings,
    mailbox: Mailbox,
    connection: AsyncConnection,
) -> None:
    # given no Authorization header at all
    assert "authorization" not in anonymous.headers
    # when
    response = await graphql(anonymous, REPORT, report_input("locked.out@acme.example"))
    # then
    payload = _payload(response, "accessIssueReport")
    assert payload["userErrors"] == []
    reference = payload["reference"]
    assert reference.startswith("AI-")
    assert len(reference) == 9
    row = await _row(connection, reference)
    assert (row.reporter_user_id, row.status.value) == (None, "OPEN")
    assert row.ip == "127.0.0.1"
    await deliver_due(sessions, smtp_settings, limit=1000)
    [message] = mailbox.to("locked.out@acme.example")
    assert reference in message["Subject"]
    body = message.get_content()
    assert reference in body
    assert "What happens next" in body
    audit = select(func.count()).where(AuditEvent.action == "accessIssue.report")
    assert await connection.scalar(audit) == 1


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("query { viewer { subject } }", id="a query"),
        pytest.param(
            'mutation { r: accessIssueReport(input: {category: OTHER, description: "xxxxxxxxxxxx"})'
            " { reference } }",
            id="an alias",
        ),
        pytest.param(
            'mutation { accessIssueReport(input: {category: OTHER, description: "xxxxxxxxxxxx"})'
            " { reference } __typename }",
            id="another field",
        ),
        pytest.param(
            "mutation { ...F } fragment F on Mutation { accessIssueReport(input: "
            '{category: OTHER, description: "xxxxxxxxxxxx"}) { reference } }',
            id="a fragment",
        ),
        pytest.param(
            'mutation A { accessIssueReport(input: {category: OTHER, description: "xxxxxxxxxx"})'
            " { reference } } mutation B { accessIssueReport(input: {category: OTHER, "
            'description: "xxxxxxxxxx"}) { reference } }',
            id="two operations",
        ),
        pytest.param(
            "mutation { accessIssueReport(input: {category: OTHER, description: "
            '"xxxxxxxxxxxx"}) @include(if: true) { reference } }',
            id="a directive",
        ),
        pytest.param("mutation { not valid", id="a syntax error"),
    ],
)
async def test_anything_else_without_a_token_is_401(
    anonymous: httpx.AsyncClient, query: str
) -> None:
    response = await graphql(anonymous, query)
    assert response.status_code == 401
    assert graphql_errors(response)[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_batch_or_a_bad_token_is_401_even_for_a_report(
    anonymous: httpx.AsyncClient,
) -> None:
    body = {"query": REPORT, "variables": report_input()}
    batch = await anonymous.post("/graphql", json=[body])
    assert batch.status_code == 401
    bad_token = await graphql(anonymous, REPORT, report_input(), token="not-a-token")
    assert bad_token.status_code == 401


async def test_signed_in_report_is_linked_to_the_account(
    anonymous: httpx.AsyncClient, tokens: Tokens, connection: AsyncConnection
) -> None:
    # given a leader signed in, typing someone else's email and name
    token = await tokens.for_user("leader@demo.test", {ACCESS_REPORT})
    variables = report_input(
        "someone.else@acme.example", name="Not Me", category="MISSING_PERMISSION"
    )
    # when
    payload = _payload(
        await graphql(anonymous, REPORT, variables, token=token), "accessIssueReport"
    )
    # then the account's identity is used
    row = await _row(connection, payload["reference"])
    leader = await tokens.user_id("leader@demo.test")
    assert (row.reporter_user_id, row.subject_user_id) == (leader, leader)
    assert (row.reporter_email, row.reporter_name) == ("leader@demo.test", "Lena Benefits")


async def test_signed_in_without_access_report_is_forbidden(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = await tokens.for_user("leader@demo.test", {"group:read"})
    response = await graphql(anonymous, REPORT, report_input(), token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"


async def test_invalid_reports_get_every_problem(anonymous: httpx.AsyncClient) -> None:
    variables = report_input("not-an-email", name=" ", groupNumber="G 1!", description="short")
    payload = _payload(await graphql(anonymous, REPORT, variables), "accessIssueReport")
    assert payload["reference"] is None
    codes = {error["code"]: error["field"] for error in payload["userErrors"]}
    assert codes == {
        "INVALID_DESCRIPTION": ["description"],
        "INVALID_EMAIL": ["email"],
        "INVALID_NAME": ["name"],
        "INVALID_GROUP_NUMBER": ["groupNumber"],
    }
    too_long = report_input(description="x" * 4001)
    payload = _payload(await graphql(anonymous, REPORT, too_long), "accessIssueReport")
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_DESCRIPTION"]


# --- rate limits ------------------------------------------------------------------------


async def test_the_sixth_report_from_one_ip_is_refused_with_when_to_retry(
    anonymous: httpx.AsyncClient,
) -> None:
    for n in range(5):
        response = await graphql(anonymous, REPORT, report_input(f"person{n}@acme.example"))
        assert _payload(response, "accessIssueReport")["reference"]
    response = await graphql(anonymous, REPORT, report_input("person6@acme.example"))
    [error] = _payload(response, "accessIssueReport")["userErrors"]
    assert error["code"] == "RATE_LIMITED"
    assert 0 < error["retryAfterSeconds"] <= 15 * 60
    assert f"{error['retryAfterSeconds']} seconds" in error["message"]
    assert response.headers["Retry-After"] == str(error["retryAfterSeconds"])


async def test_the_fourth_report_from_one_email_is_refused(
    anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    for _ in range(3):
        response = await graphql(anonymous, REPORT, report_input("Same@Acme.example"))
        assert _payload(response, "accessIssueReport")["reference"]
    response = await graphql(anonymous, REPORT, report_input("same@acme.example "))
    [error] = _payload(response, "accessIssueReport")["userErrors"]
    assert error["code"] == "RATE_LIMITED"
    assert 0 < error["retryAfterSeconds"] <= settings.access_report_email_window_seconds


async def test_invalid_and_refused_reports_still_count(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given five invalid reports from one IP
    for n in range(5):
        bad = report_input(f"p{n}@acme.example", description="short")
        errors = _payload(await graphql(anonymous, REPORT, bad), "accessIssueReport")["userErrors"]
        assert errors[0]["code"] == "INVALID_DESCRIPTION"
    # when a valid one follows, and then another
    for _ in range(2):
        response = await graphql(anonymous, REPORT, report_input("valid@acme.example"))
        assert _payload(response, "accessIssueReport")["userErrors"][0]["code"] == "RATE_LIMITED"
    # then every attempt was counted (refused ones too) and no issue was created
    count = select(RateLimitCounter.count).where(
        RateLimitCounter.key == "access-report:ip:127.0.0.1"
    )
    assert await connection.scalar(count) == 7
    assert await connection.scalar(select(func.count()).select_from(AccessIssue)) == 0


# --- first-response due time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "due"),
    [
        pytest.param("2026-11-18T15:30", "2026-11-19T15:30", id="weekday"),
        pytest.param("2026-11-20T09:00", "2026-11-23T09:00", id="friday-skips-weekend"),
        pytest.param("2026-11-21T09:00", "2026-11-23T09:00", id="saturday"),
        pytest.param("2026-11-25T17:45", "2026-11-27T17:45", id="skips-thanksgiving"),
        pytest.param("2026-07-02T10:00", "2026-07-06T10:00", id="observed-july-4-and-weekend"),
    ],
)
def test_first_response_is_due_one_business_day_later(created: str, due: str) -> None:
    start = dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC)
    assert first_response_due(start, 1) == dt.datetime.fromisoformat(due).replace(tzinfo=dt.UTC)


def test_breach_stays_visible_after_a_late_response() -> None:
    due = dt.datetime(2026, 11, 19, 9, tzinfo=dt.UTC)
    issue = AccessIssue(first_response_due_at=due, first_responded_at=None)
    assert not is_breached(issue, due)
    assert is_breached(issue, due + dt.timedelta(seconds=1))
    issue.first_responded_at = due + dt.timedelta(hours=1)
    assert is_breached(issue, due - dt.timedelta(days=5))
    issue.first_responded_at = due - dt.timedelta(hours=1)
    assert not is_breached(issue, due + dt.timedelta(days=5))


# --- the queue --------------------------------------------------------------------------


async def test_breached_filter_and_due_order(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    support: str,
) -> None:
    old = await make_issue(sessions, settings, now=utc_now() - dt.timedelta(days=8))
    fresh = await make_issue(sessions, settings)
    variables = {"filter": {"breached": True}}
    data = graphql_ok(await graphql(anonymous, QUEUE, variables, token=support))["accessIssues"]
    assert [e["node"]["reference"] for e in data["edges"]] == [old.reference]
    assert data["totalCount"] == 1
    assert data["edges"][0]["node"]["firstResponseBreached"] is True
    assert data["edges"][0]["node"]["ageHours"] >= 8 * 24
    order = {"field": "FIRST_RESPONSE_DUE", "direction": "DESC"}
    data = graphql_ok(await graphql(anonymous, QUEUE, {"order": order}, token=support))
    references = [e["node"]["reference"] for e in data["accessIssues"]["edges"]]
    assert references == [fresh.reference, old.reference]


async def test_due_order_pages_with_cursors(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    support: str,
) -> None:
    start = utc_now() - dt.timedelta(days=30)
    made = [
        await make_issue(sessions, settings, now=start + dt.timedelta(days=n)) for n in range(3)
    ]
    query = """query($after: String) { accessIssues(first: 2, after: $after,
      orderBy: {field: FIRST_RESPONSE_DUE}) { edges { node { reference } }
      pageInfo { endCursor hasNextPage } } }"""
    first = graphql_ok(await graphql(anonymous, query, token=support))["accessIssues"]
    after = {"after": first["pageInfo"]["endCursor"]}
    second = graphql_ok(await graphql(anonymous, query, after, token=support))["accessIssues"]
    seen = [e["node"]["reference"] for page in (first, second) for e in page["edges"]]
    assert seen == [issue.reference for issue in made]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, False)
    other_order = await graphql(
        anonymous,
        QUEUE.replace("first: $first", "first: $first, after: $a").replace(
            "$order: AccessIssueOrder", "$order: AccessIssueOrder, $a: String"
        ),
        {"a": after["after"]},
        token=support,
    )
    assert "another sort order" in graphql_errors(other_order)[0]["message"]


async def test_a_benefit_leader_cannot_see_or_work_the_queue(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tokens: Tokens,
) -> None:
    issue = await make_issue(sessions, settings)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    queue = await graphql(anonymous, QUEUE, token=leader)
    assert graphql_errors(queue)[0]["extensions"]["code"] == "FORBIDDEN"
    gid = global_id("AccessIssue", issue.id)
    reply = await graphql(anonymous, REPLY, {"input": {"id": gid, "body": "hi"}}, token=leader)
    assert graphql_errors(reply)[0]["extensions"]["code"] == "FORBIDDEN"
    node = await graphql(
        anonymous, "query($id: ID!) { node(id: $id) { id } }", {"id": gid}, token=leader
    )
    assert graphql_ok(node)["node"] is None


async def test_queue_statements_do_not_grow_with_the_page(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    support: str,
    statements: StatementCounter,
) -> None:
    for n in range(12):
        issue = await make_issue(sessions, settings, email_address=f"p{n}@acme.example")
        gid = global_id("AccessIssue", issue.id)
        graphql_ok(await graphql(anonymous, ASSIGN, {"input": {"id": gid}}, token=support))
    counts = []
    for size in (2, 12):
        statements.reset()
        graphql_ok(await graphql(anonymous, QUEUE, {"first": size}, token=support))
        counts.append(statements.count)
    assert counts[0] == counts[1]


# --- the workflow -----------------------------------------------------------------------


async def _status(client: httpx.AsyncClient, token: str, gid: str, status: str,
                  reason: str | None = None) -> dict[str, Any]:  # fmt: skip
    variables = {"input": {"id": gid, "status": status, "reason": reason}}
    return _payload(
        await graphql(client, STATUS_SET, variables, token=token), "accessIssueStatusSet"
    )


async def test_status_transitions_including_reopen(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    support: str,
    connection: AsyncConnection,
) -> None:
    gid = global_id("AccessIssue", (await make_issue(sessions, settings)).id)
    refused = await _status(anonymous, support, gid, "RESOLVED")
    assert [e["code"] for e in refused["userErrors"]] == ["INVALID_TRANSITION"]
    first = await _status(anonymous, support, gid, "IN_PROGRESS")
    assert first["accessIssue"]["firstRespondedAt"] is not None
    for status in ("WAITING_ON_CLIENT", "IN_PROGRESS", "WAITING_ON_CLIENT", "RESOLVED"):
        assert (await _status(anonymous, support, gid, status))["userErrors"] == []
    resolved = await _status(anonymous, support, gid, "WAITING_ON_CLIENT")
    assert [e["code"] for e in resolved["userErrors"]] == ["INVALID_TRANSITION"]
    no_reason = await _status(anonymous, support, gid, "IN_PROGRESS")
    assert [e["code"] for e in no_reason["userErrors"]] == ["REASON_REQUIRED"]
    reopened = await _status(anonymous, support, gid, "IN_PROGRESS", "Still locked out")
    issue = reopened["accessIssue"]
    assert issue["status"] == "IN_PROGRESS"
    assert issue["resolvedAt"] is None
    assert issue["entries"][-1] == {
        "kind": "STATUS",
        "body": "RESOLVED → IN_PROGRESS: Still locked out",
    }
    assert len(issue["entries"]) == 6
    audit = select(func.count()).where(AuditEvent.action == "accessIssue.statusSet")
    assert await connection.scalar(audit) == 6


async def test_reply_emails_the_reporter_and_is_the_first_response(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_settings: Settings,
    mailbox: Mailbox,
    support: str,
) -> None:
    issue = await make_issue(sessions, settings, email_address="reply.me@acme.example")
    gid = global_id("AccessIssue", issue.id)
    note = {"input": {"id": gid, "body": "Checked the lockout log."}}
    noted = _payload(await graphql(anonymous, NOTE_ADD, note, token=support), "accessIssueNoteAdd")
    assert noted["accessIssue"]["entries"] == [{"kind": "NOTE", "body": "Checked the lockout log."}]
    body = "We unlocked your account; try signing in again."
    response = await graphql(anonymous, REPLY, {"input": {"id": gid, "body": body}}, token=support)
    replied = _payload(response, "accessIssueReply")["accessIssue"]
    assert replied["firstRespondedAt"] is not None
    assert replied["entries"][-1] == {"kind": "REPLY", "body": body,
                                      "author": {"email": "support@demo.test"}}  # fmt: skip
    await deliver_due(sessions, smtp_settings, limit=1000)
    [confirmation, reply] = mailbox.to("reply.me@acme.example")
    assert issue.reference in reply["Subject"]
    assert body in reply.get_content()
    assert "Checked the lockout log" not in reply.get_content() + confirmation.get_content()
    empty = await graphql(anonymous, REPLY, {"input": {"id": gid, "body": " "}}, token=support)
    assert _payload(empty, "accessIssueReply")["userErrors"] == [{"code": "INVALID_BODY"}]


async def test_assign_to_self_or_support_only_and_filter_mine(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    support: str,
) -> None:
    mine, other = await make_issue(sessions, settings), await make_issue(sessions, settings)
    to_me = {"input": {"id": global_id("AccessIssue", mine.id)}}
    assigned = _payload(await graphql(anonymous, ASSIGN, to_me, token=support), "accessIssueAssign")
    assert assigned["accessIssue"]["assignee"] == {"email": "support@demo.test"}
    to_rep = {"input": {"id": global_id("AccessIssue", other.id), "assigneeEmail": "rep@demo.test"}}
    refused = _payload(await graphql(anonymous, ASSIGN, to_rep, token=support), "accessIssueAssign")
    assert refused["userErrors"] == [{"code": "ASSIGNEE_NOT_SUPPORT", "field": ["assigneeEmail"]}]
    missing = {"input": {"id": global_id("AccessIssue", 10**9)}}
    gone = _payload(await graphql(anonymous, ASSIGN, missing, token=support), "accessIssueAssign")
    assert gone["userErrors"] == [{"code": "ISSUE_NOT_FOUND", "field": ["id"]}]
    for flt, expected in (({"assignedToMe": True}, mine), ({"unassigned": True}, other)):
        data = graphql_ok(await graphql(anonymous, QUEUE, {"filter": flt}, token=support))
        assert [e["node"]["reference"] for e in data["accessIssues"]["edges"]] == [
            expected.reference
        ]
    entries = select(func.count()).select_from(AccessIssueEntry)
    async with sessions() as session:
        assert await session.scalar(entries) == 1
