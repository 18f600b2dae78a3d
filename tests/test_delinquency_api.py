"""Delinquency over the API (issue 8): a rep queues the daily run, the worker runs it,
the group's episodes explain what happened, the claims system sees claims pend, and a
rep reinstates a group terminated for non-payment once its past due is paid. Over the
real ASGI app; the group is ``tests.delinquency_support``'s (16000 cents a month)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.delinquency_worker import DelinquencyWorker
from api.services import billing_run
from api.services.dates import today
from api.settings import Settings
from db.models import Coverage, DelinquencyLetter, Member, MemberStatus
from tests.delinquency_support import JUN, PREMIUM, day, delinquent_group, pay, run_day
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

START = """
mutation ($asOf: Date) {
  delinquencyRunStart(input: {asOf: $asOf}) {
    run { id asOf status }
    userErrors { code field message }
  }
}
"""
RUNS = (
    "{ delinquencyRuns(first: 5) { totalCount edges { node { asOf status groupsTotal "
    "groupsDone transitions lettersDrafted } } } }"
)
EPISODES = """
query ($id: ID!) {
  node(id: $id) {
    ... on Group {
      status
      delinquencyEpisodes {
        status stage pastDueSince daysPastDue pastDue { amount } paidThroughDate
        transitions { event asOf daysPastDue pastDue { amount } reason }
      }
    }
  }
}
"""
CLAIMS = "query ($n: String!) { groupClaimsStatus(groupNumber: $n) { status claimsPended } }"
REINSTATE = """
mutation ($id: ID!, $reason: String!) {
  groupReinstate(input: {id: $id, reason: $reason}) {
    group { status terminationDate }
    userErrors { code field message }
  }
}
"""


async def _start(client: httpx.AsyncClient, as_of: dt.date) -> dict[str, Any]:
    data = graphql_ok(await graphql(client, START, {"asOf": as_of.isoformat()}))
    result: dict[str, Any] = data["delinquencyRunStart"]
    return result


async def test_a_rep_runs_a_day_and_the_group_shows_why_it_is_suspended(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tokens: Tokens,
) -> None:
    group_id = await delinquent_group(sessions)
    started = await _start(client, day(31))
    assert (started["run"]["status"], started["userErrors"]) == ("QUEUED", [])
    await DelinquencyWorker(sessions, settings).run_pass()
    runs = graphql_ok(await graphql(client, RUNS))["delinquencyRuns"]
    assert runs["edges"][0]["node"] == {
        "asOf": day(31).isoformat(), "status": "COMPLETED", "groupsTotal": 1, "groupsDone": 1,
        "transitions": 3, "lettersDrafted": 1,
    }  # fmt: skip
    group = graphql_ok(await graphql(client, EPISODES, {"id": global_id("Group", group_id)}))
    episode = group["node"]["delinquencyEpisodes"][0]
    assert group["node"]["status"] == "SUSPENDED"
    assert (episode["stage"], episode["pastDueSince"], episode["daysPastDue"]) == (
        "SUSPENDED",
        JUN.isoformat(),
        31,
    )
    assert [t["event"] for t in episode["transitions"]] == [
        "DELINQUENT",
        "SECOND_NOTICE",
        "SUSPENDED",
    ]
    assert episode["transitions"][2]["pastDue"]["amount"] == "160.00"
    assert "31 days past due" in episode["transitions"][2]["reason"]
    claims = tokens.for_client("claims-system", {"group:read", "eligibility:read"})
    status = graphql_ok(await graphql(client, CLAIMS, {"n": "G900101"}, token=claims))
    assert status["groupClaimsStatus"] == {"status": "SUSPENDED", "claimsPended": True}


async def test_a_day_after_today_or_before_the_last_run_is_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await delinquent_group(sessions)
    future = await _start(client, today() + dt.timedelta(days=1))
    assert [e["code"] for e in future["userErrors"]] == ["AS_OF_IN_FUTURE"]
    await run_day(sessions, day(20))
    earlier = await _start(client, day(19))
    assert [(e["code"], e["field"]) for e in earlier["userErrors"]] == [
        ("RUN_OUT_OF_ORDER", ["asOf"])
    ]
    again = await _start(client, day(20))
    assert again["userErrors"] == []


async def test_a_benefit_leader_cannot_run_delinquency(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = await tokens.for_user("admin@demo.test", {"billing:read", "billing:write"})
    errors = graphql_errors(await graphql(anonymous, START, {"asOf": "2026-06-01"}, token=token))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_reinstatement_needs_the_past_due_paid_and_restores_coverage(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group_id = await delinquent_group(sessions)
    await run_day(sessions, day(61))  # terminated as of 31 May; June credited
    gid = global_id("Group", group_id)
    variables = {"id": gid, "reason": "Paid in full; sales asked to keep the group."}
    refused = graphql_ok(await graphql(client, REINSTATE, variables))["groupReinstate"]
    assert [e["code"] for e in refused["userErrors"]] == ["BALANCE_NOT_CLEARED"]
    assert "$160.00 is still past due" in refused["userErrors"][0]["message"]
    blank = graphql_ok(await graphql(client, REINSTATE, {"id": gid, "reason": " "}))
    assert "REASON_REQUIRED" in [e["code"] for e in blank["groupReinstate"]["userErrors"]]
    await pay(sessions, group_id, PREMIUM, day(62), "june")
    done = graphql_ok(await graphql(client, REINSTATE, variables))["groupReinstate"]
    assert done == {"group": {"status": "ACTIVE", "terminationDate": None}, "userErrors": []}
    await _assert_restored(sessions, group_id)
    again = graphql_ok(await graphql(client, REINSTATE, variables))["groupReinstate"]
    assert [e["code"] for e in again["userErrors"]] == ["NOT_TERMINATED_FOR_NON_PAYMENT"]


async def _assert_restored(sessions: async_sessionmaker[AsyncSession], group_id: int) -> None:
    """Coverage open-ended again, members active, a reinstatement letter. The final
    invoice took July's place (it credited June), so August's invoice bills June and July
    again as retro lines besides August: each month is paid once."""
    async with sessions.begin() as session:
        spans = await session.execute(
            select(Coverage.termination_date, Member.status)
            .join(Member, Member.id == Coverage.member_id).where(Member.group_id == group_id)
        )  # fmt: skip
        assert set(spans) == {(None, MemberStatus.ACTIVE)}
        kinds = await session.scalars(
            select(DelinquencyLetter.kind).where(DelinquencyLetter.group_id == group_id)
        )
        assert [k.value for k in kinds] == ["TERMINATION", "REINSTATEMENT"]
        august = await billing_run.bill_group(session, group_id, dt.date(2026, 8, 1))
        assert (august.outcome, august.total_cents) == ("CREATED", 3 * PREMIUM)


SEND = """
mutation ($id: ID!) {
  delinquencyLetterSend(input: {letterId: $id}) { letter { status } userErrors { code } }
}
"""


async def test_a_notice_drafted_before_the_group_paid_is_not_sent_after(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group_id = await delinquent_group(sessions)
    await run_day(sessions, day(31))  # suspended: a suspension letter waits for review
    await pay(sessions, group_id, PREMIUM, day(32), "paid")  # cured: a reinstatement letter
    async with sessions() as session:
        rows = await session.execute(
            select(DelinquencyLetter.kind, DelinquencyLetter.id)
            .where(DelinquencyLetter.group_id == group_id)
        )  # fmt: skip
        ids = {kind.value: pk for kind, pk in rows}
    stale = global_id("DelinquencyLetter", ids["SUSPENSION"])
    refused = graphql_ok(await graphql(client, SEND, {"id": stale}))["delinquencyLetterSend"]
    assert refused == {"letter": None, "userErrors": [{"code": "NO_LONGER_DUE"}]}
