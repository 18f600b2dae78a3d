"""A delinquency letter as a PDF (fpdf2), US Letter (SPEC §2 Delinquency: "Letters are
drafted as documents (PDF) from templates").

Pure layout, as ``invoice_pdf``: the carrier's letterhead, the group's address block, the
date, the subject and the body text already rendered by
``api.services.delinquency.letter_text``. A draft is marked as such, so a copy printed
before review is never mistaken for the letter sent. Core PDF fonts are Latin-1 only, so
other characters are replaced rather than failing the download.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF

from api.services.delinquency.letter_text import long_date

_LINE_MM = 5.0


@dataclass(frozen=True, slots=True)
class LetterContent:
    carrier_name: str
    carrier_address: Sequence[str]
    group_name: str
    group_number: str
    group_address: Sequence[str]
    letter_date: dt.date
    draft: bool
    subject: str
    body: str


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


class _LetterPdf(FPDF):
    def __init__(self, content: LetterContent) -> None:
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.content = content
        self.set_margins(25, 20, 25)
        self.set_auto_page_break(auto=True, margin=20)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "", 7)
        label = f"{self.content.group_number} - page {self.page_no()} of {{nb}}"
        self.cell(0, 4, _latin1(label), align="R")

    def text_row(self, text: str, *, size: float = 10, style: str = "", height: float = 5) -> None:
        self.set_font("Helvetica", style, size)
        self.cell(0, height, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def render_letter(content: LetterContent, *, compress: bool = True) -> bytes:
    """The letter as PDF bytes; ``compress=False`` keeps text streams readable (tests)."""
    pdf = _LetterPdf(content)
    pdf.set_compression(compress)
    pdf.add_page()
    _letterhead(pdf, content)
    _address_block(pdf, content)
    _body(pdf, content)
    return bytes(pdf.output())


def _letterhead(pdf: _LetterPdf, content: LetterContent) -> None:
    pdf.text_row(content.carrier_name, size=16, style="B", height=8)
    for line in content.carrier_address:
        pdf.text_row(line, size=8, height=4)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(pdf.l_margin, pdf.get_y() + 2, pdf.w - pdf.r_margin, pdf.get_y() + 2)
    pdf.ln(8)
    if content.draft:
        pdf.set_text_color(180, 0, 0)
        pdf.text_row("DRAFT: not yet reviewed or sent.", size=11, style="B", height=7)
        pdf.set_text_color(0, 0, 0)


def _address_block(pdf: _LetterPdf, content: LetterContent) -> None:
    pdf.text_row(long_date(content.letter_date))
    pdf.ln(4)
    for line in (content.group_name, f"Group {content.group_number}", *content.group_address):
        pdf.text_row(line)
    pdf.ln(6)


def _body(pdf: _LetterPdf, content: LetterContent) -> None:
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, _latin1(content.subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for line in content.body.splitlines():
        # The indented lines are the account table: monospaced, so its columns line up.
        pdf.set_font("Courier" if line.startswith("  ") else "Helvetica", "", 10)
        pdf.multi_cell(0, _LINE_MM, _latin1(line) or " ", new_x="LMARGIN", new_y="NEXT")
