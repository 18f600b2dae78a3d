"""A group's invoice as a PDF (fpdf2), US Letter (SPEC §2 Billing; issue 7: "header, group,
period, due date, previous balance, payments received, adjustments, lines grouped by plan,
total due, remittance stub").

Pure layout: everything printed arrives in plain dataclasses, already chosen and summed
by the caller. Money is integer cents, printed as ``$1,234.56``. Core PDF fonts are
Latin-1 only, so other characters are replaced rather than failing the download.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF

from api.services.money import format_usd

STUB_HEIGHT_MM = 72
"""Room the remittance stub takes at the foot of the last page (up to 5 address lines)."""
_ROW_MM = 5.0
# Member name, member ID, tier, month, amount (Letter: 215.9 mm less 15 mm margins).
_COLUMNS = (("Member", 62.0), ("Member ID", 32.0), ("Tier", 40.0), ("Month", 24.0),
            ("Amount", 27.9))  # fmt: skip


@dataclass(frozen=True, slots=True)
class PdfLine:
    """One line as printed; a retro line (``retro``) also prints its explanation."""

    member_name: str
    member_id: str
    tier: str
    service_month: dt.date
    amount_cents: int
    retro: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class PlanSection:
    plan_code: str
    plan_name: str
    lines: Sequence[PdfLine]

    @property
    def subtotal_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """The account as of the invoice, in cents; payments and credits are negative."""

    previous_balance: int
    payments: int
    adjustments: int
    current_charges: int
    total_due: int


@dataclass(frozen=True, slots=True)
class InvoiceContent:
    carrier_name: str
    remit_to: Sequence[str]
    invoice_number: str
    status: str
    group_number: str
    group_name: str
    group_address: Sequence[str]
    month: dt.date
    invoice_date: dt.date
    due_date: dt.date
    summary: AccountSummary
    sections: Sequence[PlanSection]


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


class _InvoicePdf(FPDF):
    def __init__(self, content: InvoiceContent) -> None:
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.content = content
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=15)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 7)
        number = self.content.invoice_number
        self.cell(0, 4, _latin1(f"{number} - page {self.page_no()} of {{nb}}"), align="R")

    def text_row(self, text: str, *, size: float = 9, style: str = "", height: float = 5) -> None:
        self.set_font("Helvetica", style, size)
        self.cell(0, height, _latin1(text), new_x="LMARGIN", new_y="NEXT")

    def pair(self, label: str, value: str, *, bold: bool = False, width: float = 60) -> None:
        self.set_font("Helvetica", "B" if bold else "", 9)
        self.cell(width, _ROW_MM, _latin1(label))
        self.cell(30, _ROW_MM, _latin1(value), align="R", new_x="LMARGIN", new_y="NEXT")


def render_invoice(content: InvoiceContent, *, compress: bool = True) -> bytes:
    """The invoice as PDF bytes; ``compress=False`` keeps text streams readable (tests)."""
    pdf = _InvoicePdf(content)
    pdf.set_compression(compress)
    pdf.add_page()
    _header(pdf, content)
    _summary(pdf, content.summary)
    _charges(pdf, content.sections, content.summary.current_charges)
    _stub(pdf, content)
    return bytes(pdf.output())


def _header(pdf: _InvoicePdf, content: InvoiceContent) -> None:
    pdf.text_row(content.carrier_name, size=16, style="B", height=8)
    pdf.text_row(f"Premium invoice for {content.month:%B %Y}", size=12, height=7)
    if content.status in ("DRAFT", "VOID"):
        pdf.set_text_color(180, 0, 0)
        pdf.text_row(f"{content.status}: this is not a bill.", size=11, style="B", height=7)
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    top = pdf.get_y()
    pdf.text_row("Bill to", style="B")
    for line in (content.group_name, f"Group {content.group_number}", *content.group_address):
        pdf.text_row(line)
    bottom = pdf.get_y()
    pdf.set_xy(120, top)
    for label, value in _facts(content):
        pdf.set_x(120)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(32, _ROW_MM, label)
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(0, _ROW_MM, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 4)


def _facts(content: InvoiceContent) -> list[tuple[str, str]]:
    return [
        ("Invoice", content.invoice_number),
        ("Coverage period", f"{content.month:%B %Y}"),
        ("Invoice date", content.invoice_date.isoformat()),
        ("Due date", content.due_date.isoformat()),
        ("Amount due", format_usd(content.summary.total_due)),
    ]


def _summary(pdf: _InvoicePdf, summary: AccountSummary) -> None:
    pdf.text_row("Account summary", size=11, style="B", height=7)
    pdf.pair("Previous balance", format_usd(summary.previous_balance))
    pdf.pair("Payments received", format_usd(summary.payments))
    pdf.pair("Adjustments", format_usd(summary.adjustments))
    pdf.pair("Current charges", format_usd(summary.current_charges))
    pdf.pair("Total due", format_usd(summary.total_due), bold=True)
    pdf.ln(4)


def _charges(pdf: _InvoicePdf, sections: Sequence[PlanSection], total: int) -> None:
    pdf.text_row("Current charges by plan", size=11, style="B", height=7)
    for section in sections:
        pdf.text_row(f"{section.plan_name} ({section.plan_code})", size=10, style="B", height=6)
        _column_heads(pdf)
        for line in section.lines:
            _line(pdf, line)
        pdf.pair(f"Subtotal {section.plan_code}", format_usd(section.subtotal_cents), width=155.9)
        pdf.ln(2)
    pdf.pair("Total current charges", format_usd(total), bold=True, width=155.9)


def _column_heads(pdf: _InvoicePdf) -> None:
    pdf.set_font("Helvetica", "B", 8)
    for index, (title, width) in enumerate(_COLUMNS):
        last = index == len(_COLUMNS) - 1
        pdf.cell(width, _ROW_MM, title, border="B", align="R" if last else "L",
                 new_x="LMARGIN" if last else "RIGHT", new_y="NEXT" if last else "TOP")  # fmt: skip


def _line(pdf: _InvoicePdf, line: PdfLine) -> None:
    month = f"{line.service_month:%b %Y}" + (" retro" if line.retro else "")
    values = (line.member_name, line.member_id, line.tier, month, format_usd(line.amount_cents))
    pdf.set_font("Helvetica", "", 8)
    for index, (value, (_, width)) in enumerate(zip(values, _COLUMNS, strict=True)):
        last = index == len(_COLUMNS) - 1
        pdf.cell(width, _ROW_MM, _latin1(value), align="R" if last else "L",
                 new_x="LMARGIN" if last else "RIGHT", new_y="NEXT" if last else "TOP")  # fmt: skip
    if line.retro:
        pdf.set_font("Helvetica", "I", 7)
        pdf.set_x(pdf.l_margin + 4)
        pdf.multi_cell(0, 3.5, _latin1(line.explanation), new_x="LMARGIN", new_y="NEXT")


def _stub(pdf: _InvoicePdf, content: InvoiceContent) -> None:
    """The remittance stub at the foot of the last page (a new page when it does not fit)."""
    stub_top = pdf.h - pdf.b_margin - STUB_HEIGHT_MM
    if pdf.get_y() > stub_top:
        pdf.add_page()
    pdf.set_y(stub_top)
    pdf.set_font("Helvetica", "", 7)
    pdf.cell(0, 4, "- " * 110, new_x="LMARGIN", new_y="NEXT")
    pdf.text_row("Remittance stub: detach and return this part with your payment.", size=8)
    pdf.text_row(content.carrier_name, size=11, style="B", height=7)
    for label, value in (
        ("Group number", content.group_number),
        ("Group", content.group_name),
        ("Invoice", content.invoice_number),
        ("Due date", content.due_date.isoformat()),
        ("Amount due", format_usd(content.summary.total_due)),
        ("Amount enclosed", "$ ____________"),
    ):
        pdf.pair(label, value)
    pdf.ln(1)
    pdf.text_row("Make payment to and mail this stub to:", size=8, style="B", height=4)
    for line in content.remit_to:
        pdf.text_row(line, size=8, height=4)
