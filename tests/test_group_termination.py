"""Terminating a group: coverage ends, the final invoice credits what was billed past the
date, and the credit left becomes a premium refund that a rep issues (to the cent, on the
test group of tests/test_billing_run.py: A EMPLOYEE 4000, B FAMILY 12000, C EMPLOYEE 4000
a month from September 2026)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services import billing_run, group_termination, refunds
from api.services.balances import balances
from api.services.bank_data import cipher_for
from api.services.payments import record_payment
from api.services.rules import RuleViolation
from api.settings import DEV_BANK_DATA_KEY
from db.models import (
    Coverage,
    Group,
    GroupStatus,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberStatus,
    PaymentMethod,
    RefundStatus,
)
from tests.helpers import Tokens, global_id, graphql, graphql_ok
from tests.ledger_support import trail
from tests.test_billing_run import DEC, NOV, OCT, SEP, bill, billing_group
from tests.test_invoice_issue import issued

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def issuer() -> group_termination.Issuer:
    return group_termination.Issuer(None, trail(), NOW, "Carrier Health Plan",
                                    cipher_for(DEV_BANK_DATA_KEY))  # fmt: skip


async def billed_and_paid(session: AsyncSession) -> Group:
    """September to December issued (20000 each) and paid in full by one check."""
    group, _, _ = await billing_group(session)
    for month in (SEP, OCT, NOV, DEC):
        await issued(session, (await bill(session, group, month)).invoice_id)
    await record_payment(session, group_id=group.id, amount_cents=80000,
                         method=PaymentMethod.CHECK, received_date=DEC, reference="CHK 1",
                         idempotency_key="paid-in-full", user_id=None, audit=trail())  # fmt: skip
    return group


async def test_a_retro_termination_credits_the_months_billed_past_it_and_refunds_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given September to December billed and paid
        group = await billed_and_paid(session)
        # when the group is terminated as of 31 October
        done = await group_termination.terminate(
            session, group, last_day=dt.date(2026, 10, 31), reason="Employer closed",
            issuer=issuer(),
        )  # fmt: skip
        # then every coverage ends that day and the group and members are terminated
        ends = set(await session.scalars(
            select(Coverage.termination_date).join(Member).where(Member.group_id == group.id)
        ))  # fmt: skip
        assert ends == {dt.date(2026, 10, 31)}
        statuses = set(
            await session.scalars(select(Member.status).where(Member.group_id == group.id))
        )
        assert statuses == {MemberStatus.TERMINATED}
        assert (done.group.status, done.group.termination_date) == (
            GroupStatus.TERMINATED, dt.date(2026, 10, 31),
        )  # fmt: skip
        # and the final invoice (January) credits November and December for all three
        final = done.final_invoice
        assert final is not None
        assert (final.month, final.status, final.total_cents) == (
            dt.date(2027, 1, 1), InvoiceStatus.PAID, -40000,
        )  # fmt: skip
        lines = sorted(await session.execute(
            select(Member.first_name, InvoiceLine.service_month, InvoiceLine.amount_cents)
            .join(Member, Member.id == InvoiceLine.member_id)
            .where(InvoiceLine.invoice_id == final.id)
        ))  # fmt: skip
        assert [tuple(row) for row in lines] == [
            ("A", NOV, -4000), ("A", DEC, -4000), ("B", NOV, -12000), ("B", DEC, -12000),
            ("C", NOV, -4000), ("C", DEC, -4000),
        ]  # fmt: skip
        # and the 40000 the group paid for them waits as a refund
        assert done.refund is not None
        assert (done.refund.amount_cents, done.refund.status) == (40000, RefundStatus.PENDING)
        before = (await balances(session, group_ids=[group.id], as_of=DEC))[group.id]
        assert (before.total, before.past_due) == (-40000, 0)
        # when a rep issues the refund, then the account is settled
        await refunds.issue(session, done.refund, reference="CHK 9001", user_id=None,
                            audit=trail(), now=NOW)  # fmt: skip
        after = (await balances(session, group_ids=[group.id], as_of=DEC))[group.id]
        assert (after.total, after.credit, after.past_due) == (0, 0, 0)
        assert done.refund.status is RefundStatus.ISSUED
        # and later billing runs leave the terminated group out
        assert group.id not in await billing_run.billable_groups(session, dt.date(2027, 1, 1))


async def test_a_group_that_owes_keeps_its_debt_and_gets_no_refund(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, _, _ = await billing_group(session)
        for month in (SEP, OCT, NOV):
            await issued(session, (await bill(session, group, month)).invoice_id)
        done = await group_termination.terminate(
            session, group, last_day=dt.date(2026, 11, 30), reason="Moved carriers",
            issuer=issuer(),
        )  # fmt: skip
        assert (done.final_invoice, done.refund) == (None, None)  # nothing left to bill
        balance = (await balances(session, group_ids=[group.id], as_of=DEC))[group.id]
        assert balance.total == 60000


@pytest.mark.parametrize(
    ("last_day", "reason", "code"),
    [
        (dt.date(2026, 10, 30), "x", "NOT_LAST_OF_MONTH"),
        (dt.date(2027, 1, 31), "x", "TOO_FAR_AHEAD"),
        (dt.date(2026, 8, 31), "x", "BEFORE_GROUP_EFFECTIVE_DATE"),
        (dt.date(2026, 10, 31), " ", "REASON_REQUIRED"),
    ],
)
async def test_a_termination_that_cannot_be_done_is_refused(
    sessions: async_sessionmaker[AsyncSession], last_day: dt.date, reason: str, code: str
) -> None:
    async with sessions.begin() as session:
        group, _, _ = await billing_group(session)
        with pytest.raises(RuleViolation) as refused:
            await group_termination.terminate(
                session, group, last_day=last_day, reason=reason, issuer=issuer()
            )
        assert [p.code for p in refused.value.problems] == [code]
        assert group.status is GroupStatus.ACTIVE


TERMINATE = """mutation($id: ID!, $date: Date!, $reason: String!) {
  groupTerminate(input: {id: $id, terminationDate: $date, reason: $reason}) {
    group { status terminationDate } finalInvoice { total { amount } }
    refund { id amount { amount } status } userErrors { code } } }"""
ISSUE = """mutation($id: Int!, $ref: String!) { refundIssue(input: {id: $id, reference: $ref}) {
  refund { status reference } userErrors { code } } }"""
REFUNDS = (
    "query($id: ID!) { node(id: $id) { ... on Group { refunds { status amount { amount } } } } }"
)


async def test_a_rep_terminates_a_group_and_issues_its_refund_over_the_api(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        group = await billed_and_paid(session)
    gid = global_id("Group", group.id)
    sent = {"id": gid, "date": "2026-10-31", "reason": "Employer closed"}
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    denied = (await graphql(anonymous, TERMINATE, sent, token=leader)).json()
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    done = graphql_ok(await graphql(anonymous, TERMINATE, sent, token=rep))["groupTerminate"]
    assert done["group"] == {"status": "TERMINATED", "terminationDate": "2026-10-31"}
    assert done["finalInvoice"] == {"total": {"amount": "-400.00"}}
    assert done["refund"]["amount"] == {"amount": "400.00"}
    again = graphql_ok(await graphql(anonymous, TERMINATE, sent, token=rep))["groupTerminate"]
    assert again["userErrors"] == [{"code": "GROUP_TERMINATED"}]
    refund_id = done["refund"]["id"]
    blank = graphql_ok(await graphql(anonymous, ISSUE, {"id": refund_id, "ref": " "}, token=rep))
    assert blank["refundIssue"]["userErrors"] == [{"code": "REFERENCE_REQUIRED"}]
    sent_refund = {"id": refund_id, "ref": "CHK 9001"}
    issued_refund = graphql_ok(await graphql(anonymous, ISSUE, sent_refund, token=rep))
    assert issued_refund["refundIssue"]["refund"] == {"status": "ISSUED", "reference": "CHK 9001"}
    listed = graphql_ok(await graphql(anonymous, REFUNDS, {"id": gid}, token=rep))
    assert listed["node"]["refunds"] == [{"status": "ISSUED", "amount": {"amount": "400.00"}}]
