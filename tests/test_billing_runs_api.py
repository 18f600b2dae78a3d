"""Billing runs through the API: a rep queues the run of a month, a worker runs it, and
the rep follows its progress and counts; nobody else can start or see one."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services import billing_jobs
from api.services.audit import Actor
from api.services.money import cents_to_decimal
from db.models import Invoice
from tests.helpers import Tokens, graphql, graphql_ok

START = """mutation($month: Date!, $groups: [String!]) {
  billingRunStart(input: {month: $month, groupNumbers: $groups}) {
    run { id month status } userErrors { code message field } } }"""
RUNS = """{ billingRuns(first: 5) { totalCount edges { node {
  id status groupsTotal groupsDone total { amount currency }
  counts { created rebuilt unchanged alreadyIssued nothingToBill } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_a_rep_runs_a_month_and_follows_it(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    # when a rep starts December for two groups
    sent = {"month": "2026-12-09", "groups": ["g100001", "G100002"]}
    started = graphql_ok(await graphql(anonymous, START, sent, token=rep))["billingRunStart"]
    assert started["userErrors"] == []
    assert (started["run"]["month"], started["run"]["status"]) == ("2026-12-01", "QUEUED")
    # then a second start of the month is refused while the first waits
    again = graphql_ok(await graphql(anonymous, START, sent, token=rep))["billingRunStart"]
    assert again["userErrors"][0]["code"] == "RUN_IN_PROGRESS"
    # when the worker runs it
    run_ids = await billing_jobs.due_runs(sessions)
    assert len(run_ids) == 1
    lease = dt.timedelta(minutes=5)
    assert await billing_jobs.run_job(sessions, run_ids[0], lease=lease, actor=Actor(None, "t"))
    # then the rep sees it completed, with its counts and the invoices' total
    runs = graphql_ok(await graphql(anonymous, RUNS, token=rep))["billingRuns"]
    node = runs["edges"][0]["node"]
    assert (node["status"], node["groupsTotal"], node["groupsDone"]) == ("COMPLETED", 2, 2)
    assert node["counts"] == {
        "created": 2, "rebuilt": 0, "unchanged": 0, "alreadyIssued": 0, "nothingToBill": 0,
    }  # fmt: skip
    async with sessions() as session:
        total = await session.scalar(select(func.sum(Invoice.total_cents)))
    assert node["total"] == {"amount": str(cents_to_decimal(total or 0)), "currency": "USD"}
    # and a month run again only confirms its drafts
    rerun = graphql_ok(await graphql(anonymous, START, sent, token=rep))["billingRunStart"]
    assert rerun["userErrors"] == []
    for run_id in await billing_jobs.due_runs(sessions):
        await billing_jobs.run_job(sessions, run_id, lease=lease, actor=Actor(None, "t"))
    latest = graphql_ok(await graphql(anonymous, RUNS, token=rep))["billingRuns"]
    assert latest["totalCount"] == 2
    assert latest["edges"][0]["node"]["counts"]["unchanged"] == 2


async def test_a_month_too_early_and_callers_who_are_not_reps_are_refused(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    early = graphql_ok(await graphql(anonymous, START, {"month": "2099-03-01"}, token=rep))
    error = early["billingRunStart"]["userErrors"][0]
    assert (error["code"], error["field"]) == ("TOO_EARLY", ["month"])
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    refused = (await graphql(anonymous, START, {"month": "2026-12-01"}, token=leader)).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await billing_jobs.due_runs(sessions) == []
    # a run's id finds nothing for a leader
    started = graphql_ok(await graphql(anonymous, START, {"month": "2026-12-01"}, token=rep))
    run_id = started["billingRunStart"]["run"]["id"]
    seen = graphql_ok(await graphql(anonymous, NODE, {"id": run_id}, token=leader))
    assert seen["node"] is None
    assert graphql_ok(await graphql(anonymous, NODE, {"id": run_id}, token=rep))["node"] == {
        "id": run_id
    }
