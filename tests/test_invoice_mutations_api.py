"""Issuing and voiding invoices through the API (rep:billing)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services import billing_run
from api.services.audit import Actor
from db.models import Invoice, InvoiceStatus, LedgerEntry
from tests.helpers import Tokens, global_id, graphql, graphql_ok
from tests.test_billing_run import bill, billing_group

ISSUE_MONTH = """mutation($month: Date!) { invoicesIssue(input: {month: $month}) {
  issued { id status } refused { invoice { id status } userErrors { code message } } } }"""
ISSUE = """mutation($id: ID!) { invoiceIssue(input: {id: $id}) {
  invoice { id status } userErrors { code message } } }"""
VOID = """mutation($id: ID!, $reason: String!) { invoiceVoid(input: {id: $id, reason: $reason}) {
  invoice { status voidReason } userErrors { code message field } } }"""
DEC = dt.date(2026, 12, 1)


async def test_a_rep_issues_a_months_drafts_and_a_draft_without_rates_stays(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given December drafts for the seeded groups, and a test group's January 2028 draft
    # (no rate schedule covers 2028)
    report = await billing_run.run_month(sessions, DEC, actor=Actor(None, "t"))
    async with sessions.begin() as session:
        group, _, _ = await billing_group(session)
        stale = await bill(session, group, dt.date(2028, 1, 1))
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    # when the rep issues December
    done = graphql_ok(await graphql(anonymous, ISSUE_MONTH, {"month": "2026-12-15"}, token=rep))
    issued = done["invoicesIssue"]["issued"]
    # then every December draft is issued and entered in the ledger once
    assert len(issued) == report.count("CREATED") >= 1
    assert {row["status"] for row in issued} == {"ISSUED"}
    async with sessions() as session:
        entries = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "INVOICE")
        )
    assert entries == len(issued)
    # and the 2028 draft is refused, saying why, and stays DRAFT
    later = graphql_ok(await graphql(anonymous, ISSUE_MONTH, {"month": "2028-01-01"}, token=rep))
    refused = later["invoicesIssue"]["refused"]
    assert [r["userErrors"][0]["code"] for r in refused] == ["RATE_MISSING"]
    assert refused[0]["invoice"] == {
        "id": global_id("Invoice", stale.invoice_id or 0), "status": "DRAFT",
    }  # fmt: skip
    # and issuing one again is refused
    again = graphql_ok(await graphql(anonymous, ISSUE, {"id": issued[0]["id"]}, token=rep))
    assert again["invoiceIssue"]["userErrors"][0]["code"] == "NOT_DRAFT"


async def test_a_draft_is_voided_and_a_leader_cannot_issue_or_void(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        group, _, _ = await billing_group(session)
        draft = await bill(session, group, DEC)
    gid = global_id("Invoice", draft.invoice_id or 0)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    for query, variables in ((ISSUE, {"id": gid}), (VOID, {"id": gid, "reason": "x"})):
        refused = (await graphql(anonymous, query, variables, token=leader)).json()
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    blank = graphql_ok(await graphql(anonymous, VOID, {"id": gid, "reason": " "}, token=rep))
    assert blank["invoiceVoid"]["userErrors"][0]["code"] == "REASON_REQUIRED"
    sent = {"id": gid, "reason": "Group asked to hold December"}
    voided = graphql_ok(await graphql(anonymous, VOID, sent, token=rep))["invoiceVoid"]
    assert voided == {
        "invoice": {"status": "VOID", "voidReason": "Group asked to hold December"},
        "userErrors": [],
    }
    async with sessions() as session:
        status = await session.scalar(select(Invoice.status).where(Invoice.id == draft.invoice_id))
    assert status is InvoiceStatus.VOID
