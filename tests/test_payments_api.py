"""The money mutations over HTTP (SPEC §2 Billing: payments, account ledger; §3 access):
bank accounts, paymentCreate by a leader with billing MANAGE, paymentRecord and
paymentReverse by a representative, adjustments and write-offs. Nothing is half-applied,
and the full bank numbers appear in no response and no stored byte."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services.dates import today
from api.services.ledger import post_invoice
from db.models import (
    AccessLevel,
    AuditEvent,
    AuditOutcome,
    BankAccount,
    Group,
    GroupGrant,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    LedgerEntryKind,
    Payment,
)
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok
from tests.ledger_support import issued_invoice, trail

OWN, OTHER = "G100001", "G100002"  # leader@demo.test manages the billing of both
ROUTING, ACCOUNT = "021000021", "4433221100998877"
JAN, FEB = dt.date(2027, 1, 1), dt.date(2027, 2, 1)

BANK_ACCOUNT_ADD = """
mutation ($input: BankAccountAddInput!) {
  bankAccountAdd(input: $input) {
    bankAccount { id holderName accountType accountLast4 routingLast4 autopay }
    userErrors { code field message }
  }
}
"""
BANK_ACCOUNT_REMOVE = """
mutation ($input: BankAccountRemoveInput!) {
  bankAccountRemove(input: $input) { removedBankAccountId userErrors { code field message } }
}
"""
BANK_ACCOUNT_SET_AUTOPAY = """
mutation ($input: BankAccountSetAutopayInput!) {
  bankAccountSetAutopay(input: $input) {
    bankAccount { id autopay } userErrors { code field message }
  }
}
"""
BANK_ACCOUNTS = """
query ($n: String!) {
  group(groupNumber: $n) { bankAccounts { id accountLast4 routingLast4 autopay } }
}
"""
PAYMENT_FIELDS = "payment { id amount { amount currency } method receivedDate reference status }"
PAYMENT_CREATE = f"""
mutation ($input: PaymentCreateInput!) {{
  paymentCreate(input: $input) {{ {PAYMENT_FIELDS} replayed userErrors {{ code field message }} }}
}}
"""
PAYMENT_RECORD = f"""
mutation ($input: PaymentRecordInput!) {{
  paymentRecord(input: $input) {{ {PAYMENT_FIELDS} replayed userErrors {{ code field message }} }}
}}
"""
PAYMENT_REVERSE = f"""
mutation ($input: PaymentReverseInput!) {{
  paymentReverse(input: $input) {{ {PAYMENT_FIELDS} userErrors {{ code field message }} }}
}}
"""
ADJUSTMENT_POST = """
mutation ($input: AdjustmentPostInput!) {
  adjustmentPost(input: $input) {
    adjustment { amount { amount } entryDate memo } group { groupNumber } replayed
    userErrors { code field message }
  }
}
"""
INVOICE_WRITE_OFF = """
mutation ($input: InvoiceWriteOffInput!) {
  invoiceWriteOff(input: $input) {
    invoice { id status } writeOff { amount { amount } memo } userErrors { code field message }
  }
}
"""


@pytest.fixture
async def leader(tokens: Tokens) -> str:
    return await tokens.for_user("leader@demo.test", ALL_SCOPES)


@pytest.fixture
async def rep(tokens: Tokens) -> str:
    return await tokens.for_user("rep@demo.test", ALL_SCOPES)


async def _group(connection: AsyncConnection, number: str) -> tuple[int, str]:
    pk = await connection.scalar(select(Group.id).where(Group.group_number == number))
    assert pk is not None
    return int(pk), global_id("Group", pk)


async def _posted_invoice(
    sessions: async_sessionmaker[AsyncSession], group: int, month: dt.date, cents: int
) -> int:
    """An issued invoice entered in the group's ledger (what the billing run's issue does)."""
    async with sessions() as session:
        invoice = await issued_invoice(session, group, month, total_cents=cents)
        await post_invoice(session, invoice=invoice, user_id=None, audit=trail())
        await session.commit()
        return invoice.id


async def _status(connection: AsyncConnection, invoice: int) -> InvoiceStatus:
    status = await connection.scalar(select(Invoice.status).where(Invoice.id == invoice))
    assert status is not None
    return InvoiceStatus(status)


async def _count(connection: AsyncConnection, column: Any) -> int:
    return int(await connection.scalar(select(func.count(column))) or 0)


def _add_input(gid: str, routing: str = ROUTING, account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "input": {
            "groupId": gid,
            "holderName": "Acme Payroll LLC",
            "accountType": "CHECKING",
            "routingNumber": routing,
            "accountNumber": account,
        }
    }


async def _add_account(
    client: httpx.AsyncClient, token: str, gid: str, account: str = ACCOUNT
) -> str:
    data = await _data(client, BANK_ACCOUNT_ADD, _add_input(gid, account=account), token)
    result = data["bankAccountAdd"]
    assert result["userErrors"] == [], result
    bank_account_id: str = result["bankAccount"]["id"]
    return bank_account_id


def _pay(gid: str, account: str, amount: str, key: str) -> dict[str, Any]:
    return {
        "input": {"groupId": gid, "bankAccountId": account, "amount": amount, "idempotencyKey": key}
    }


async def _data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    return graphql_ok(await graphql(client, query, variables, token=token))


def _assert_forbidden(response: httpx.Response) -> None:
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_leader_with_billing_view_only_cannot_add_an_account_or_pay(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given: the leader manages OWN's billing but only views OTHER's, which has an account
    # a rep stored and an open invoice
    other_pk, other = await _group(connection, OTHER)
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    account = await _add_account(anonymous, rep, other)
    await _posted_invoice(sessions, other_pk, JAN, 10000)
    leader_id = await tokens.user_id("leader@demo.test")
    await connection.execute(
        update(GroupGrant)
        .where(GroupGrant.user_id == leader_id, GroupGrant.group_id == other_pk)
        .values(billing_access=AccessLevel.VIEW)
    )
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    before = (await _count(connection, Payment.id), await _count(connection, BankAccount.id))
    # when it tries to pay, add or remove an account there
    pay = await graphql(
        anonymous, PAYMENT_CREATE, _pay(other, account, "100.00", "v1"), token=leader
    )
    add = await graphql(anonymous, BANK_ACCOUNT_ADD, _add_input(other), token=leader)
    remove = await graphql(
        anonymous, BANK_ACCOUNT_REMOVE, {"input": {"bankAccountId": account}}, token=leader
    )
    # then each is FORBIDDEN, audited as denied, and nothing was written
    for response in (pay, add, remove):
        _assert_forbidden(response)
    after = (await _count(connection, Payment.id), await _count(connection, BankAccount.id))
    assert after == before
    denied = await connection.scalars(
        select(AuditEvent.action).where(AuditEvent.outcome == AuditOutcome.DENIED)
    )
    assert {"denied:payment.create", "denied:bankAccount.add", "denied:bankAccount.remove"} <= set(
        denied
    )
    # and it still sees the account (billing VIEW), last four digits only
    seen = await _data(anonymous, BANK_ACCOUNTS, {"n": OTHER}, leader)
    assert seen["group"]["bankAccounts"] == [
        {"id": account, "accountLast4": "8877", "routingLast4": "0021", "autopay": False}
    ]


async def test_a_viewer_without_billing_write_is_refused_at_the_field(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    _, own = await _group(connection, OWN)
    viewer = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, BANK_ACCOUNT_ADD, _add_input(own), token=viewer)
    _assert_forbidden(response)
    assert await _count(connection, BankAccount.id) == 0


async def test_a_leader_adds_an_account_and_pays_an_issued_invoice(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    leader: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given an issued invoice of 300.00
    pk, gid = await _group(connection, OWN)
    invoice = await _posted_invoice(sessions, pk, JAN, 30000)
    # when the leader adds an account with a mistyped routing number, then the right one
    mistyped = _add_input(gid, routing="021000012")
    typo = (await _data(anonymous, BANK_ACCOUNT_ADD, mistyped, leader))["bankAccountAdd"]
    account = await _add_account(anonymous, leader, gid)
    # then the mistake is explained at its field and nothing was stored for it
    assert typo["bankAccount"] is None
    [error] = typo["userErrors"]
    assert (error["code"], error["field"]) == ("ROUTING_NUMBER_INVALID", ["routingNumber"])
    assert "9 digits" in error["message"]
    assert "last digit must match" in error["message"]
    assert await _count(connection, BankAccount.id) == 1
    # when it pays 120.00, then 180.00
    first = await _data(anonymous, PAYMENT_CREATE, _pay(gid, account, "120.00", "p1"), leader)
    status_after_first = await _status(connection, invoice)
    second = await _data(anonymous, PAYMENT_CREATE, _pay(gid, account, "180.00", "p2"), leader)
    # then the invoice is partially paid, then paid, by ACH payments received today
    assert status_after_first is InvoiceStatus.PARTIALLY_PAID
    assert await _status(connection, invoice) is InvoiceStatus.PAID
    payment = first["paymentCreate"]["payment"]
    assert payment["amount"] == {"amount": "120.00", "currency": "USD"}
    assert (payment["method"], payment["reference"], payment["status"]) == (
        "ACH",
        "ACH ****8877",
        "APPLIED",
    )
    assert payment["receivedDate"] == today().isoformat()
    assert second["paymentCreate"]["userErrors"] == []
    actions = set(await connection.scalars(select(AuditEvent.action)))
    assert {"bankAccount.add", "payment.create", "payment.record"} <= actions


async def test_the_same_key_pays_once_and_other_input_with_it_is_refused(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, leader: str
) -> None:
    # given an account
    _, gid = await _group(connection, OWN)
    account = await _add_account(anonymous, leader, gid)
    # when the same payment is sent twice, then with another amount under the key
    once = await _data(anonymous, PAYMENT_CREATE, _pay(gid, account, "50.00", "k"), leader)
    twice = await _data(anonymous, PAYMENT_CREATE, _pay(gid, account, "50.00", "k"), leader)
    other = await _data(anonymous, PAYMENT_CREATE, _pay(gid, account, "50.01", "k"), leader)
    # then one payment was made, returned twice, and the other input was refused
    assert once["paymentCreate"]["replayed"] is False
    assert twice["paymentCreate"]["replayed"] is True
    assert twice["paymentCreate"]["payment"] == once["paymentCreate"]["payment"]
    assert other["paymentCreate"]["payment"] is None
    [error] = other["paymentCreate"]["userErrors"]
    assert (error["code"], error["field"]) == ("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])
    assert await _count(connection, Payment.id) == 1
    assert await _count(connection, LedgerEntry.id) == 1


async def test_another_groups_account_cannot_be_used(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, leader: str
) -> None:
    # given an account of OWN (the leader manages both groups)
    _, own = await _group(connection, OWN)
    _, other = await _group(connection, OTHER)
    account = await _add_account(anonymous, leader, own)
    # when it pays OTHER's premium from it, or passes an ID of another type
    response = await graphql(
        anonymous, PAYMENT_CREATE, _pay(other, account, "10.00", "x"), token=leader
    )
    wrong_type = await graphql(
        anonymous, PAYMENT_CREATE, _pay(own, own, "10.00", "y"), token=leader
    )
    # then the account is not found, as if it did not exist, and nothing was paid
    for result in (graphql_ok(response), graphql_ok(wrong_type)):
        [error] = result["paymentCreate"]["userErrors"]
        assert (error["code"], error["field"]) == ("BANK_ACCOUNT_NOT_FOUND", ["bankAccountId"])
    assert await _count(connection, Payment.id) == 0


async def test_amounts_are_exact_cents(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, leader: str
) -> None:
    _, gid = await _group(connection, OWN)
    account = await _add_account(anonymous, leader, gid)
    for amount, code in (
        ("10.005", "AMOUNT_INVALID"),
        ("1e12", "AMOUNT_INVALID"),
        ("0", "AMOUNT_NOT_POSITIVE"),
        ("-5.00", "AMOUNT_NOT_POSITIVE"),
    ):
        data = await _data(
            anonymous, PAYMENT_CREATE, _pay(gid, account, amount, f"a{amount}"), leader
        )
        assert [e["code"] for e in data["paymentCreate"]["userErrors"]] == [code], amount
    assert await _count(connection, Payment.id) == 0


async def test_accounts_are_removed_and_one_is_on_autopay(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, leader: str
) -> None:
    # given two accounts
    _, gid = await _group(connection, OWN)
    first = await _add_account(anonymous, leader, gid)
    second = await _add_account(anonymous, leader, gid, "1234")

    async def autopay(account: str, on: bool) -> dict[str, Any]:
        variables = {"input": {"bankAccountId": account, "autopay": on}}
        data = await _data(anonymous, BANK_ACCOUNT_SET_AUTOPAY, variables, leader)
        result: dict[str, Any] = data["bankAccountSetAutopay"]
        return result

    # when each is put on autopay in turn, then the second is removed
    assert (await autopay(first, True))["bankAccount"] == {"id": first, "autopay": True}
    assert (await autopay(second, True))["bankAccount"] == {"id": second, "autopay": True}
    listed = await _data(anonymous, BANK_ACCOUNTS, {"n": OWN}, leader)
    removed = await _data(
        anonymous, BANK_ACCOUNT_REMOVE, {"input": {"bankAccountId": second}}, leader
    )
    again = await autopay(second, True)
    # then only one was ever on autopay, and the removed one is gone
    assert [(a["id"], a["autopay"]) for a in listed["group"]["bankAccounts"]] == [
        (first, False),
        (second, True),
    ]
    assert removed["bankAccountRemove"] == {"removedBankAccountId": second, "userErrors": []}
    assert [e["code"] for e in again["userErrors"]] == ["BANK_ACCOUNT_NOT_FOUND"]
    after = await _data(anonymous, BANK_ACCOUNTS, {"n": OWN}, leader)
    assert [a["id"] for a in after["group"]["bankAccounts"]] == [first]
    node = "query ($id: ID!) { node(id: $id) { id ... on BankAccount { accountLast4 } } }"
    assert await _data(anonymous, node, {"id": first}, leader) == {
        "node": {"id": first, "accountLast4": "8877"}
    }
    assert await _data(anonymous, node, {"id": second}, leader) == {"node": None}


async def test_a_rep_records_a_check_and_reverses_it_for_nsf(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    rep: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given an issued invoice of 200.00
    pk, gid = await _group(connection, OTHER)
    invoice = await _posted_invoice(sessions, pk, JAN, 20000)
    check = {
        "groupId": gid,
        "method": "CHECK",
        "amount": "200.00",
        "receivedDate": today().isoformat(),
        "reference": "Check 1042",
        "idempotencyKey": "chk-1042",
    }
    # when a rep records the check, then reverses it as NSF, twice
    recorded = await _data(anonymous, PAYMENT_RECORD, {"input": check}, rep)
    paid_status = await _status(connection, invoice)
    payment = recorded["paymentRecord"]["payment"]
    reverse = {"input": {"paymentId": payment["id"], "reason": "NSF"}}
    reversed_ = await _data(anonymous, PAYMENT_REVERSE, reverse, rep)
    twice = await _data(anonymous, PAYMENT_REVERSE, reverse, rep)
    # then the invoice was paid, and is open again after the return
    assert (payment["method"], payment["reference"]) == ("CHECK", "Check 1042")
    assert paid_status is InvoiceStatus.PAID
    assert reversed_["paymentReverse"]["payment"]["status"] == "RETURNED"
    assert await _status(connection, invoice) is InvoiceStatus.ISSUED
    assert [e["code"] for e in twice["paymentReverse"]["userErrors"]] == [
        "PAYMENT_ALREADY_RETURNED"
    ]
    kinds = await connection.scalars(
        select(LedgerEntry.kind).where(LedgerEntry.group_id == pk).order_by(LedgerEntry.id)
    )
    assert list(kinds) == [
        LedgerEntryKind.INVOICE,
        LedgerEntryKind.PAYMENT,
        LedgerEntryKind.PAYMENT_REVERSAL,
    ]


async def test_a_check_cannot_be_received_tomorrow_and_leaders_cannot_record_one(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, rep: str, leader: str
) -> None:
    _, gid = await _group(connection, OWN)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    check = {
        "groupId": gid,
        "method": "WIRE",
        "amount": "5.00",
        "receivedDate": tomorrow,
        "idempotencyKey": "w",
    }
    data = await _data(anonymous, PAYMENT_RECORD, {"input": check}, rep)
    assert [e["code"] for e in data["paymentRecord"]["userErrors"]] == ["RECEIVED_DATE_IN_FUTURE"]
    _assert_forbidden(await graphql(anonymous, PAYMENT_RECORD, {"input": check}, token=leader))
    reverse = {"input": {"paymentId": global_id("Payment", 1), "reason": "NSF"}}
    _assert_forbidden(await graphql(anonymous, PAYMENT_REVERSE, reverse, token=leader))
    assert await _count(connection, Payment.id) == 0


async def test_a_rep_posts_adjustments_and_writes_off_an_invoice(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    rep: str,
    leader: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given an issued invoice of 100.00
    pk, gid = await _group(connection, OWN)
    invoice = await _posted_invoice(sessions, pk, FEB, 10000)
    invoice_gid = global_id("Invoice", invoice)

    def adjustment(amount: str, memo: str = "Late in December", key: str = "") -> dict[str, Any]:
        sent = {"groupId": gid, "amount": amount, "reasonCode": "LATE_FEE", "memo": memo}
        return {"input": {**sent, "idempotencyKey": key or f"adj-{amount}-{memo}"}}

    def write_off(amount: str | None) -> dict[str, Any]:
        sent = {"invoiceId": invoice_gid, "amount": amount, "memo": "Small balance"}
        return {"input": {**sent, "idempotencyKey": f"wo-{amount}"}}

    # when a rep charges a late fee, and tries a zero and an unexplained one
    fee = await _data(anonymous, ADJUSTMENT_POST, adjustment("25.00"), rep)
    zero = await _data(anonymous, ADJUSTMENT_POST, adjustment("0.00"), rep)
    blank = await _data(anonymous, ADJUSTMENT_POST, adjustment("-5.00", " "), rep)
    # then the fee is posted, the others refused
    assert fee["adjustmentPost"]["adjustment"] == {
        "amount": {"amount": "25.00"},
        "entryDate": today().isoformat(),
        "memo": "Late in December",
    }
    assert fee["adjustmentPost"]["group"] == {"groupNumber": OWN}
    assert [e["code"] for e in zero["adjustmentPost"]["userErrors"]] == ["AMOUNT_ZERO"]
    assert [e["code"] for e in blank["adjustmentPost"]["userErrors"]] == ["MEMO_MISSING"]
    # and the fee sent again with its key is the same entry; the key with another amount is
    # refused
    again = await _data(anonymous, ADJUSTMENT_POST, adjustment("25.00"), rep)
    assert again["adjustmentPost"]["replayed"] is True
    reused = adjustment("30.00", key="adj-25.00-Late in December")
    other = await _data(anonymous, ADJUSTMENT_POST, reused, rep)
    assert [e["code"] for e in other["adjustmentPost"]["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    # when it writes off too much, then 40.00, then the rest
    too_much = await _data(anonymous, INVOICE_WRITE_OFF, write_off("100.01"), rep)
    part = await _data(anonymous, INVOICE_WRITE_OFF, write_off("40.00"), rep)
    rest = await _data(anonymous, INVOICE_WRITE_OFF, write_off(None), rep)
    # then the invoice is settled by 40.00 and 60.00 written off
    assert [e["code"] for e in too_much["invoiceWriteOff"]["userErrors"]] == [
        "WRITE_OFF_OUT_OF_RANGE"
    ]
    assert part["invoiceWriteOff"]["invoice"] == {"id": invoice_gid, "status": "ISSUED"}
    assert rest["invoiceWriteOff"]["writeOff"] == {
        "amount": {"amount": "-60.00"},
        "memo": "Small balance",
    }
    assert rest["invoiceWriteOff"]["invoice"]["status"] == "PAID"
    entries = await connection.execute(
        select(LedgerEntry.kind, LedgerEntry.amount_cents)
        .where(LedgerEntry.group_id == pk)
        .order_by(LedgerEntry.id)
    )
    assert [tuple(e) for e in entries] == [
        (LedgerEntryKind.INVOICE, 10000),
        (LedgerEntryKind.ADJUSTMENT, 2500),
        (LedgerEntryKind.WRITE_OFF, -4000),
        (LedgerEntryKind.WRITE_OFF, -6000),
    ]
    # and a leader may do neither
    _assert_forbidden(await graphql(anonymous, ADJUSTMENT_POST, adjustment("1.00"), token=leader))
    _assert_forbidden(await graphql(anonymous, INVOICE_WRITE_OFF, write_off(None), token=leader))


async def test_the_full_numbers_appear_in_no_response_and_no_stored_byte(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, leader: str
) -> None:
    # given / when: an account is added, listed, paid from, put on autopay and removed
    _, gid = await _group(connection, OWN)
    responses = [await graphql(anonymous, BANK_ACCOUNT_ADD, _add_input(gid), token=leader)]
    account = responses[0].json()["data"]["bankAccountAdd"]["bankAccount"]["id"]
    duplicate = await graphql(anonymous, BANK_ACCOUNT_ADD, _add_input(gid), token=leader)
    responses += [
        duplicate,
        await graphql(anonymous, BANK_ACCOUNTS, {"n": OWN}, token=leader),
        await graphql(anonymous, PAYMENT_CREATE, _pay(gid, account, "1.00", "n"), token=leader),
        await graphql(
            anonymous,
            BANK_ACCOUNT_SET_AUTOPAY,
            {"input": {"bankAccountId": account, "autopay": True}},
            token=leader,
        ),
        await graphql(
            anonymous, BANK_ACCOUNT_REMOVE, {"input": {"bankAccountId": account}}, token=leader
        ),
    ]
    assert [e["code"] for e in duplicate.json()["data"]["bankAccountAdd"]["userErrors"]] == [
        "BANK_ACCOUNT_ALREADY_ADDED"
    ]
    # then no response carries the numbers
    for response in responses:
        assert response.status_code == 200
        assert ACCOUNT not in response.text
        assert ROUTING not in response.text
    # and no stored byte does: the account's row, the ACH debit, the payment, the audit log
    for table in ("bank_accounts", "ach_debits", "payments", "audit_events"):
        for row in (await connection.execute(text(f"SELECT * FROM {table}"))).all():
            for value in row:
                data = value if isinstance(value, bytes) else str(value).encode()
                assert ACCOUNT.encode() not in data, table
                assert ROUTING.encode() not in data, table
