"""The invoice PDF (SPEC §2 Billing: invoices are downloadable documents): what it prints,
that only a caller who may see the invoice gets it, and the layout of a long invoice."""

from __future__ import annotations

import datetime as dt
import re
import zlib

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES, GROUP_READ
from api.documents.invoice_pdf import (
    AccountSummary,
    InvoiceContent,
    PdfLine,
    PlanSection,
    render_invoice,
)
from db.models import AuditEvent, Group
from tests.helpers import Tokens, graphql, graphql_ok
from tests.test_billing_api import LAST, OLDER, OTHER, OWN, scenario


def pdf_text(body: bytes) -> bytes:
    """The PDF's content streams, inflated (fpdf2 compresses them)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.DOTALL)
    return b"".join(zlib.decompress(s) if s[:1] == b"x" else s for s in streams)


async def _group_name(connection: AsyncConnection, number: str) -> str:
    name = await connection.scalar(select(Group.name).where(Group.group_number == number))
    assert name is not None
    return str(name)


async def test_the_invoice_pdf_prints_the_account_and_the_lines(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
) -> None:
    # given A entered, a check of 100.00 and a goodwill credit of 5.00, then B entered
    ids = await scenario(sessions, adjustment_cents=-500)
    # when B is downloaded
    response = await client.get(f"/documents/invoices/{ids.last}.pdf")
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    number = f"INV-{ids.last:08d}".encode()
    for printed in (
        b"Carrier Health Plan", OWN.encode(), (await _group_name(connection, OWN)).encode(),
        number, f"{LAST:%B %Y}".encode(), b"Due date",
        # previous balance (A), the check, the credit, B's charges, and what is due
        b"Previous balance", b"$292.75", b"Payments received", b"-$100.00",
        b"Adjustments", b"-$5.00", b"Current charges", b"$262.75", b"Total due", b"$450.50",
        b"Remittance stub", b"Amount enclosed", b"PO Box",
    ):  # fmt: skip
        assert printed in text, printed
    assert text.count(number) >= 2  # the header and the remittance stub


async def test_retro_lines_print_their_months_and_explanation(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await scenario(sessions)
    text = pdf_text((await client.get(f"/documents/invoices/{ids.older}.pdf")).content)
    retro_month = dt.date(OLDER.year, OLDER.month, 1) - dt.timedelta(days=1)
    assert f"{retro_month:%b %Y} retro".encode() in text
    assert b"Retro: spouse added" in text
    assert b"$292.75" in text  # current charges and total due: nothing before A
    assert b"Employee" in text


async def test_a_leader_with_billing_view_downloads_their_invoice(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
    connection: AsyncConnection,
) -> None:
    ids = await scenario(sessions)
    token = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    response = await anonymous.get(
        f"/documents/invoices/{ids.older}.pdf", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert OWN.encode() in pdf_text(response.content)
    audited = await connection.scalar(
        select(AuditEvent.action).where(AuditEvent.target_id == str(ids.older))
    )
    assert audited == "invoice.download"


async def test_another_groups_invoice_is_404_like_a_missing_one(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
) -> None:
    # given G100002's invoice (the viewer leads G100001 only) and G100001's draft
    ids = await scenario(sessions)
    query = (
        "query ($n: String!) { group(groupNumber: $n) { invoices { edges { node { pdfPath } } } } }"
    )
    other = graphql_ok(await graphql(client, query, {"n": OTHER}))
    other_path = other["group"]["invoices"]["edges"][0]["node"]["pdfPath"]
    token = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    headers = {"Authorization": f"Bearer {token}"}
    # when the viewer asks for them, and for invoices that do not exist
    paths = [other_path, f"/documents/invoices/{ids.draft}.pdf",
             "/documents/invoices/99999999.pdf", "/documents/invoices/abc.pdf"]  # fmt: skip
    responses = [await anonymous.get(path, headers=headers) for path in paths]
    # then every answer is the same 404
    assert [r.status_code for r in responses] == [404] * 4
    assert len({r.text for r in responses}) == 1
    # while a rep gets the other group's invoice
    assert (await client.get(other_path)).status_code == 200


async def test_the_invoice_pdf_needs_a_token_and_billing_read(
    anonymous: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tokens: Tokens
) -> None:
    ids = await scenario(sessions)
    path = f"/documents/invoices/{ids.older}.pdf"
    unauthenticated = await anonymous.get(path)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = await tokens.for_user("viewer@demo.test", {GROUP_READ})
    refused = await anonymous.get(path, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def _content(lines_per_plan: int) -> InvoiceContent:
    month = dt.date(2027, 1, 1)
    sections = [
        PlanSection(code, f"Dental {code}", [
            PdfLine(f"Member {n}", f"{n:09d}00", "Family", month, 10000, retro=n % 50 == 0,
                    explanation=f"Retro for December 2026: member {n} added.")
            for n in range(lines_per_plan)
        ])
        for code in ("DPPO1", "DHMO1")
    ]  # fmt: skip
    total = sum(section.subtotal_cents for section in sections)
    return InvoiceContent(
        carrier_name="Carrier Health Plan", remit_to=["Carrier Health Plan", "PO Box 1"],
        invoice_number="INV-00000042", status="ISSUED", group_number="G100042",
        group_name="Acme Tools", group_address=["1 Main St", "Columbus, OH 43004"],
        month=month, invoice_date=dt.date(2026, 12, 15), due_date=month,
        summary=AccountSummary(5000, -5000, 0, total, total), sections=sections,
    )  # fmt: skip


def test_a_long_invoice_runs_over_pages_with_subtotals_and_one_stub() -> None:
    # when an invoice of 2 x 300 lines is laid out
    body = render_invoice(_content(300), compress=False)
    # then it spans pages, each plan has its subtotal, and the stub comes once at the end
    pages = body.count(b"/Type /Page\n") or body.count(b"/Type /Page ")
    assert pages > 5, pages
    assert b"Subtotal DPPO1" in body
    assert b"Subtotal DHMO1" in body
    assert b"$30,000.00" in body  # each plan's subtotal
    assert b"$60,000.00" in body  # the total due
    assert body.count(b"Remittance stub") == 1
    assert body.rindex(b"Remittance stub") > body.rindex(b"Subtotal DHMO1")
    assert b"Retro for December 2026: member 50 added." in body
    assert f"page 1 of ) Tj ({pages})".encode() in body  # fpdf2 writes the count apart


def test_a_short_invoice_fits_one_page_with_its_stub() -> None:
    body = render_invoice(_content(3), compress=False)
    assert b"/Count 1\n" in body
    assert b"Remittance stub" in body
    assert b"PO Box 1" in body


def test_a_draft_says_it_is_not_a_bill() -> None:
    content = _content(1)
    draft = InvoiceContent(**{**{f: getattr(content, f) for f in content.__dataclass_fields__},
                              "status": "DRAFT"})  # fmt: skip
    assert b"DRAFT: this is not a bill." in render_invoice(draft, compress=False)
    assert b"not a bill" not in render_invoice(content, compress=False)
