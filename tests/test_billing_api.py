"""The read side of billing over HTTP (SPEC §2 Billing, §3): a group's invoices with their
lines and explanations, payments, the balance and aging to the cent, the upcoming invoice,
who sees what, and the statement-count guard for a dashboard of fifty groups."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES, GROUP_READ
from api.services.adjustments import post_adjustment
from api.services.billing_run import build_lines
from api.services.dates import add_months, last_of_month, today
from api.services.eligibility.premium_effect import next_invoice_month
from api.services.ledger import post_invoice
from api.services.payments import record_payment, reverse_payment
from db.models import (
    BillingMode,
    Group,
    GroupGrant,
    GroupStatus,
    Invoice,
    InvoiceLineKind,
    InvoiceStatus,
    LedgerEntry,
    LedgerEntryKind,
    LedgerReason,
    Member,
    Payment,
    PaymentMethod,
)
from tests.helpers import StatementCounter, Tokens, global_id, graphql, graphql_errors, graphql_ok
from tests.ledger_support import Line, group_id, issued_invoice, subscribers, trail

OWN, OTHER = "G100001", "G100002"  # viewer@demo.test has billing VIEW of G100001 only
TODAY = today()
THIS = TODAY.replace(day=1)
OLDER, LAST = add_months(THIS, -2), add_months(THIS, -1)
RATES = (4500, 9750, 12025)
RETRO = 3000

# The scenario, by hand (cents). Invoice A (OLDER month) is due 45 days ago, B (LAST month)
# in 10 days. A check of 100.00 arrives between them and pays A in part.
#
# | invoice | lines                               | total | paid  | due   | aging bucket |
# | A       | 45.00 + 97.50 + 120.25 + retro 30.00 | 29275 | 10000 | 19275 | 31-60        |
# | B       | 45.00 + 97.50 + 120.25              | 26275 | 0     | 26275 | current      |
#
# Balance: total 455.50, past due 192.75, credit 0, nothing paid through.
# A further 500.00 pays both (192.75 + 262.75) and leaves 44.50 of credit: total -44.50,
# paid through the last day of B's month.


@dataclass(frozen=True, slots=True)
class Scenario:
    group: int
    older: int
    last: int
    draft: int
    payment: int


async def posted(
    session: AsyncSession,
    group: int,
    month: dt.date,
    lines: list[Line],
    due: dt.date,
    total_cents: int | None = None,
) -> Invoice:
    invoice = await issued_invoice(session, group, month, lines=lines, total_cents=total_cents)
    invoice.due_date = due
    await session.flush()
    await post_invoice(session, invoice=invoice, user_id=None, audit=trail())
    return invoice


async def pay(
    session: AsyncSession,
    group: int,
    cents: int,
    key: str,
    method: PaymentMethod = PaymentMethod.CHECK,
    received: dt.date = TODAY - dt.timedelta(days=20),
) -> Payment:
    recorded = await record_payment(
        session, group_id=group, amount_cents=cents, method=method,
        received_date=received, reference=f"check {key}",
        idempotency_key=key, user_id=None, audit=trail(),
    )  # fmt: skip
    return recorded.payment


async def scenario(
    sessions: async_sessionmaker[AsyncSession], *, adjustment_cents: int | None = None
) -> Scenario:
    """The scenario above in G100001, a DRAFT for this month, and an invoice of G100002."""
    async with sessions.begin() as session:
        group = await group_id(session, OWN)
        subs = [
            dataclasses.replace(line, cents=cents)
            for line, cents in zip(await subscribers(session, group, 3), RATES, strict=True)
        ]
        retro = dataclasses.replace(
            subs[1], cents=RETRO, kind=InvoiceLineKind.RETRO, service_month=add_months(OLDER, -1),
            explanation="Retro: spouse added; EMPLOYEE_SPOUSE at $30.00 more.",
        )  # fmt: skip
        older = await posted(session, group, OLDER, [*subs, retro], TODAY - dt.timedelta(45))
        payment = await pay(session, group, 10000, "partial")
        if adjustment_cents is not None:
            await post_adjustment(
                session, group_id=group, amount_cents=adjustment_cents,
                reason_code=LedgerReason.GOODWILL, memo="Goodwill credit", user_id=None,
                audit=trail(),
            )  # fmt: skip
        last = await posted(session, group, LAST, subs, TODAY + dt.timedelta(10))
        draft = Invoice(group_id=group, month=THIS, due_date=THIS, total_cents=100,
                        status=InvoiceStatus.DRAFT)  # fmt: skip
        session.add(draft)
        other = await group_id(session, OTHER)
        await posted(session, other, LAST, [], TODAY + dt.timedelta(10), total_cents=5000)
        await session.flush()
        return Scenario(group, older.id, last.id, draft.id, payment.id)


def money(cents: int) -> dict[str, str]:
    sign = "-" if cents < 0 else ""
    return {"amount": f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"}


INVOICES = """
query ($number: String!, $status: [InvoiceStatus!]) { group(groupNumber: $number) {
  invoices(first: 10, status: $status) { totalCount edges { node {
    id invoiceNumber month status dueDate pdfPath total { amount currency }
    amountPaid { amount } amountDue { amount }
    lines { member { memberId name } planCode tier serviceMonth kind
            rate { amount } amount { amount } explanation }
  } } }
} }
"""
BALANCE = """
query ($number: String!) { group(groupNumber: $number) { balance {
  asOf total { amount } pastDue { amount } credit { amount } paidThroughDate
  aging { current { amount } days1To30 { amount } days31To60 { amount }
          days61To90 { amount } days91Plus { amount } }
} } }
"""
PAYMENTS = """
query ($number: String!) { group(groupNumber: $number) { payments(first: 10) {
  totalCount edges { node { id amount { amount } method receivedDate reference status
                            returnedAt returnReason group { groupNumber } } } } } }
"""
UPCOMING = """
query ($number: String!) { group(groupNumber: $number) { upcomingInvoice {
  month dueDate total { amount }
  lines { member { memberId } planCode tier serviceMonth kind rate { amount } amount { amount }
          explanation } } } }
"""
NODE = (
    "query ($id: ID!) { node(id: $id) { id ... on Invoice { month } ... on Payment { method } } }"
)


def _invoices(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data["group"]["invoices"]["edges"]]


async def _viewer(tokens: Tokens, scopes: Any = ALL_SCOPES) -> str:
    return await tokens.for_user("viewer@demo.test", scopes)


async def test_a_rep_sees_a_groups_invoices_with_lines_and_explanations(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given
    ids = await scenario(sessions)
    # when
    data = graphql_ok(await graphql(client, INVOICES, {"number": OWN}))
    # then: newest month first, the draft included, each with what it asks and what is open
    invoices = _invoices(data)
    assert data["group"]["invoices"]["totalCount"] == 3
    assert [(i["month"], i["status"]) for i in invoices] == [
        (THIS.isoformat(), "DRAFT"),
        (LAST.isoformat(), "ISSUED"),
        (OLDER.isoformat(), "PARTIALLY_PAID"),
    ]
    draft, last, older = invoices
    assert older["total"] == {"amount": "292.75", "currency": "USD"}
    assert (older["amountPaid"], older["amountDue"]) == (money(10000), money(19275))
    assert (last["amountPaid"], last["amountDue"]) == (money(0), money(26275))
    assert (draft["amountPaid"], draft["amountDue"], draft["lines"]) == (money(0), money(0), [])
    assert older["invoiceNumber"] == f"INV-{ids.older:08d}"
    assert older["pdfPath"] == f"/documents/invoices/{ids.older}.pdf"
    assert older["dueDate"] == (TODAY - dt.timedelta(45)).isoformat()
    # and the lines, premium first, each explaining itself
    kinds = [(line["kind"], line["amount"]["amount"]) for line in older["lines"]]
    assert sorted(kinds) == [("PREMIUM", "120.25"), ("PREMIUM", "45.00"), ("PREMIUM", "97.50"),
                             ("RETRO", "30.00")]  # fmt: skip
    assert [line["kind"] for line in older["lines"]][-1] == "RETRO"
    retro = older["lines"][-1]
    assert retro["serviceMonth"] == add_months(OLDER, -1).isoformat()
    assert retro["explanation"].startswith("Retro: spouse added")
    assert all(line["member"]["memberId"] and line["member"]["name"] for line in older["lines"])
    assert all(line["explanation"] for line in older["lines"])


async def test_the_status_filter_narrows_invoices(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await scenario(sessions)
    variables = {"number": OWN, "status": ["PARTIALLY_PAID", "PAID"]}
    data = graphql_ok(await graphql(client, INVOICES, variables))
    assert [i["month"] for i in _invoices(data)] == [OLDER.isoformat()]
    assert data["group"]["invoices"]["totalCount"] == 1


async def test_invoices_page_newest_month_first(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await scenario(sessions)
    query = """query ($after: String) { group(groupNumber: "G100001") {
      invoices(first: 2, after: $after) { pageInfo { hasNextPage endCursor }
        edges { node { month } } } } }"""
    first = graphql_ok(await graphql(client, query))["group"]["invoices"]
    after = first["pageInfo"]["endCursor"]
    second = graphql_ok(await graphql(client, query, {"after": after}))["group"]["invoices"]
    months = [e["node"]["month"] for e in first["edges"] + second["edges"]]
    assert months == [THIS.isoformat(), LAST.isoformat(), OLDER.isoformat()]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, False)


async def test_a_leader_with_billing_view_sees_own_invoices_and_balance_only(
    anonymous: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tokens: Tokens
) -> None:
    # given
    await scenario(sessions)
    token = await _viewer(tokens)
    # when / then: G100001's issued invoices (not the draft) and its balance
    own = graphql_ok(await graphql(anonymous, INVOICES, {"number": OWN}, token=token))
    assert [i["status"] for i in _invoices(own)] == ["ISSUED", "PARTIALLY_PAID"]
    assert own["group"]["invoices"]["totalCount"] == 2
    balance = graphql_ok(await graphql(anonymous, BALANCE, {"number": OWN}, token=token))
    assert balance["group"]["balance"]["total"] == money(45550)
    # and G100002 is invisible: null, like a group that does not exist
    for query in (INVOICES, BALANCE, PAYMENTS, UPCOMING):
        other = await graphql(anonymous, query, {"number": OTHER}, token=token)
        assert other.json() == {"data": {"group": None}}


async def test_invoices_and_payments_of_another_group_by_id_are_null(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
) -> None:
    # given the rep's view of G100002's invoice, and G100001's draft
    ids = await scenario(sessions)
    other = graphql_ok(await graphql(client, INVOICES, {"number": OTHER}))
    other_id = _invoices(other)[0]["id"]
    token = await _viewer(tokens)
    # when the leader asks for them by global ID
    hidden = [other_id, global_id("Invoice", ids.draft), global_id("Invoice", 99999999)]
    # then they are null, like an invoice that does not exist; their own is found
    for node_id in hidden:
        response = await graphql(anonymous, NODE, {"id": node_id}, token=token)
        assert response.json() == {"data": {"node": None}}
    own = await graphql(anonymous, NODE, {"id": global_id("Invoice", ids.older)}, token=token)
    assert graphql_ok(own)["node"] == {"id": global_id("Invoice", ids.older), "month": str(OLDER)}
    payment = global_id("Payment", ids.payment)
    assert graphql_ok(await graphql(anonymous, NODE, {"id": payment}, token=token))["node"]


@pytest.mark.parametrize("query", [INVOICES, BALANCE, PAYMENTS, UPCOMING])
async def test_a_leader_without_billing_access_sees_nothing(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
    connection: AsyncConnection,
    query: str,
) -> None:
    # given the viewer's billing access to G100001 is taken away
    ids = await scenario(sessions)
    user = await tokens.user_id("viewer@demo.test")
    await connection.execute(
        update(GroupGrant).where(GroupGrant.user_id == user).values(billing_access="NONE")
    )
    token = await _viewer(tokens)
    # when / then: the billing fields are refused, and nothing comes back
    response = await graphql(anonymous, query, {"number": OWN}, token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"
    group = response.json()["data"]["group"]
    assert group is None or set(group.values()) == {None}
    node = await graphql(anonymous, NODE, {"id": global_id("Invoice", ids.older)}, token=token)
    assert node.json() == {"data": {"node": None}}


async def test_a_token_without_billing_read_is_refused(
    anonymous: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tokens: Tokens
) -> None:
    await scenario(sessions)
    token = await _viewer(tokens, {GROUP_READ})
    response = await graphql(anonymous, INVOICES, {"number": OWN}, token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"


async def test_balance_and_aging_to_the_cent(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given an invoice 45 days past due and partly paid, and one not yet due
    await scenario(sessions)
    # when
    data = graphql_ok(await graphql(client, BALANCE, {"number": OWN}))
    # then
    assert data["group"]["balance"] == {
        "asOf": TODAY.isoformat(),
        "total": money(45550),
        "pastDue": money(19275),
        "credit": money(0),
        "paidThroughDate": None,
        "aging": {
            "current": money(26275),
            "days1To30": money(0),
            "days31To60": money(19275),
            "days61To90": money(0),
            "days91Plus": money(0),
        },
    }


async def test_an_overpayment_shows_as_credit_and_paid_through(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given the scenario, then 500.00 more
    ids = await scenario(sessions)
    async with sessions.begin() as session:
        await pay(session, ids.group, 50000, "over")
    # when
    balance = graphql_ok(await graphql(client, BALANCE, {"number": OWN}))["group"]["balance"]
    invoices = _invoices(graphql_ok(await graphql(client, INVOICES, {"number": OWN})))
    # then both invoices are paid and 44.50 is left as credit
    assert (balance["total"], balance["pastDue"], balance["credit"]) == (
        money(-4450), money(0), money(4450)
    )  # fmt: skip
    assert balance["paidThroughDate"] == last_of_month(LAST).isoformat()
    assert all(value == money(0) for value in balance["aging"].values() if "amount" in value)
    assert [(i["status"], i["amountDue"]) for i in invoices[1:]] == [
        ("PAID", money(0)), ("PAID", money(0))
    ]  # fmt: skip


async def test_payments_newest_first_with_returns(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given the partial payment, returned for NSF, and a later one
    ids = await scenario(sessions)
    async with sessions.begin() as session:
        await reverse_payment(
            session, payment_id=ids.payment, reason="NSF", user_id=None, audit=trail()
        )
        await pay(session, ids.group, 1234, "wire", PaymentMethod.WIRE, TODAY)
    # when
    data = graphql_ok(await graphql(client, PAYMENTS, {"number": OWN}))
    # then
    payments = data["group"]["payments"]
    assert payments["totalCount"] == 2
    wire, check = (edge["node"] for edge in payments["edges"])
    assert (wire["method"], wire["amount"], wire["status"]) == ("WIRE", money(1234), "APPLIED")
    assert (check["method"], check["reference"], check["status"]) == (
        "CHECK", "check partial", "RETURNED"
    )  # fmt: skip
    assert (check["returnReason"], check["group"]) == ("NSF", {"groupNumber": OWN})
    assert check["returnedAt"] is not None
    assert check["receivedDate"] == (TODAY - dt.timedelta(days=20)).isoformat()


async def test_the_upcoming_invoice_is_what_the_next_run_would_build(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given issued invoices whose amounts differ from today's rates (so retro lines follow)
    ids = await scenario(sessions)
    month = next_invoice_month(TODAY)
    async with sessions() as session:
        built = await build_lines(session, ids.group, month)
        member_ids = dict(
            (await session.execute(
                select(Member.id, Member.member_id).where(Member.group_id == ids.group)
            )).all()
        )  # fmt: skip
    # when
    data = graphql_ok(await graphql(client, UPCOMING, {"number": OWN}))
    # then it has the same lines and total as build_lines for next month
    upcoming = data["group"]["upcomingInvoice"]
    assert (upcoming["month"], upcoming["dueDate"]) == (month.isoformat(), month.isoformat())
    assert upcoming["total"] == money(sum(line.amount_cents for line in built))
    expected = sorted(
        (member_ids[line.member_id], line.service_month.isoformat(), line.kind.value,
         str(line.tier), money(line.amount_cents)["amount"], line.explanation)
        for line in built
    )  # fmt: skip
    got = sorted(
        (line["member"]["memberId"], line["serviceMonth"], line["kind"], line["tier"],
         line["amount"]["amount"], line["explanation"])
        for line in upcoming["lines"]
    )  # fmt: skip
    assert got == expected
    assert {line[2] for line in got} == {"PREMIUM", "RETRO"}


async def test_no_upcoming_invoice_for_a_self_billed_group(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(
        update(Group).where(Group.group_number == OWN).values(billing_mode=BillingMode.SELF_BILL)
    )
    data = graphql_ok(await graphql(client, UPCOMING, {"number": OWN}))
    assert data["group"]["upcomingInvoice"] is None


# --- the statement-count guard -------------------------------------------------------------

DASHBOARD = """
query ($first: Int!) { groups(first: $first) { edges { node { groupNumber
  balance { total { amount } pastDue { amount } credit { amount } paidThroughDate
    aging { current { amount } days1To30 { amount } days31To60 { amount }
            days61To90 { amount } days91Plus { amount } } }
  invoices(first: $first) { totalCount edges { node { id month status total { amount }
    amountPaid { amount } amountDue { amount }
    lines { member { memberId name } planCode tier amount { amount } explanation } } } }
  payments(first: $first) { totalCount edges { node { amount { amount } method status } } }
} } } }
"""
EXTRA_GROUPS = 44


async def _fifty_groups_with_invoices(
    sessions: async_sessionmaker[AsyncSession], viewer: int
) -> None:
    """44 more groups (50 in all), each with three entered invoices, and the six seeded
    groups with lines and a payment; the viewer is granted billing VIEW of all of them."""
    async with sessions.begin() as session:
        await session.execute(insert(Group), [
            {"group_number": f"G2{n:05d}", "name": f"Dashboard Employer {n}",
             "address_line1": f"{n} Main St", "city": "Columbus", "state": "OH",
             "postal_code": "43004", "status": GroupStatus.ACTIVE,
             "billing_mode": BillingMode.LIST_BILL, "effective_date": dt.date(2026, 1, 1)}
            for n in range(EXTRA_GROUPS)
        ])  # fmt: skip
        groups = list(await session.scalars(select(Group.id).order_by(Group.group_number)))
        seeded, extra = groups[:6], groups[6:]
        for group in seeded:
            lines = [dataclasses.replace(line, cents=5000) for line in await subscribers(
                session, group, 4)]  # fmt: skip
            for month in (OLDER, LAST):
                await posted(session, group, month, lines, month)
            await pay(session, group, 7000, f"dash-{group}")
        await _entered_invoices(session, extra)
        await session.execute(insert(GroupGrant), [
            {"user_id": viewer, "group_id": group, "billing_access": "VIEW",
             "eligibility_access": "NONE"} for group in groups[1:]
        ])  # fmt: skip


async def _entered_invoices(session: AsyncSession, groups: list[int]) -> None:
    """Three issued invoices per group, entered in the ledger (set-based)."""
    issued = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    months = [add_months(THIS, -k) for k in range(1, 4)]
    rows = await session.execute(
        insert(Invoice).returning(Invoice.id, Invoice.group_id),
        [{"group_id": g, "month": m, "due_date": m, "status": InvoiceStatus.ISSUED,
          "total_cents": 10000, "issued_at": issued} for g in groups for m in months],
    )  # fmt: skip
    await session.execute(insert(LedgerEntry), [
        {"group_id": g, "kind": LedgerEntryKind.INVOICE, "amount_cents": 10000,
         "entry_date": TODAY, "invoice_id": pk} for pk, g in rows.all()
    ])  # fmt: skip


async def test_a_dashboard_costs_the_same_statements_for_5_and_for_50_groups(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
    statements: StatementCounter,
) -> None:
    # given fifty groups with invoices, lines, payments and balances, all the viewer's
    await _fifty_groups_with_invoices(sessions, await tokens.user_id("viewer@demo.test"))
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    leader = await _viewer(tokens)
    counts: dict[str, list[int]] = {}
    for who, token in (("rep", rep), ("leader", leader)):
        for first in (5, 100):
            # when the dashboard is read
            statements.reset()
            data = graphql_ok(await graphql(anonymous, DASHBOARD, {"first": first}, token=token))
            counts.setdefault(who, []).append(statements.count)
            # then every group comes back with its billing
            nodes = [edge["node"] for edge in data["groups"]["edges"]]
            assert len(nodes) == min(first, 50)
            assert all(n["balance"] and n["invoices"]["totalCount"] >= 2 for n in nodes)
            assert any(n["invoices"]["edges"][0]["node"]["lines"] for n in nodes)
            assert any(n["payments"]["totalCount"] for n in nodes)
    # and the statements do not grow with the number of groups
    # (16: the savepoint and its rollback, 4 to authenticate, the groups, 3 for the
    # balances, the invoices, their count, money and lines, the payments and their count)
    assert counts["rep"][0] == counts["rep"][1] <= 16, counts
    assert counts["leader"][0] == counts["leader"][1] <= 16, counts


async def test_upcoming_invoices_of_a_page_of_groups(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    statements: StatementCounter,
) -> None:
    # given
    await scenario(sessions)
    query = """query($first: Int!) { groups(first: $first) { edges { node {
      groupNumber billingMode upcomingInvoice { total { amount } lines { member { memberId } } }
    } } } }"""
    # when a page of 2 and a page of 10 groups ask for their upcoming invoices
    counts = []
    for first in (2, 10):
        statements.reset()
        data = graphql_ok(await graphql(client, query, {"first": first}))
        counts.append(statements.count)
    # then the statements do not grow with the page
    assert counts[0] == counts[1], counts
    # then each is what the group alone shows
    for edge in data["groups"]["edges"]:
        node = edge["node"]
        alone = graphql_ok(await graphql(client, UPCOMING, {"number": node["groupNumber"]}))
        upcoming = alone["group"]["upcomingInvoice"]
        expected = upcoming and {
            "total": upcoming["total"],
            "lines": [{"member": {"memberId": line["member"]["memberId"]}}
                      for line in upcoming["lines"]],
        }  # fmt: skip
        assert node["upcomingInvoice"] == expected, node
    nodes = [edge["node"] for edge in data["groups"]["edges"]]
    assert all(n["upcomingInvoice"] is None for n in nodes if n["billingMode"] == "SELF_BILL")
    assert any(n["upcomingInvoice"] for n in nodes)
