"""The digital ID card as a one-page PDF (fpdf2), credit-card proportions (SPEC §2 ID cards).

It shows the carrier, the member's name and ID, the group number and name, the plan, the
coverage effective date and the carrier's contact line. Core PDF fonts are Latin-1 only,
so other characters are replaced rather than failing the download.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fpdf import FPDF

CARD_SIZE_MM = (85.6, 53.98)


@dataclass(frozen=True, slots=True)
class CardContent:
    """Everything printed on the card, already chosen by the caller."""

    carrier_name: str
    member_name: str
    member_id: str
    group_number: str
    group_name: str
    plan_name: str | None
    plan_code: str | None
    effective_date: dt.date | None
    contact_line: str


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _lines(card: CardContent) -> list[tuple[str, str]]:
    plan = f"{card.plan_name} ({card.plan_code})" if card.plan_name else "No current coverage"
    effective = card.effective_date.isoformat() if card.effective_date else "-"
    return [
        ("Member", card.member_name),
        ("Member ID", card.member_id),
        ("Group", f"{card.group_number} {card.group_name}"),
        ("Plan", plan),
        ("Effective", effective),
    ]


def render_id_card(card: CardContent, *, compress: bool = True) -> bytes:
    """The card as PDF bytes; ``compress=False`` keeps text streams readable (tests)."""
    pdf = FPDF(orientation="L", unit="mm", format=CARD_SIZE_MM)
    pdf.set_compression(compress)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(4, 4, 4)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, _latin1(card.carrier_name), new_x="LMARGIN", new_y="NEXT")
    for label, value in _lines(card):
        pdf.set_font("Helvetica", "B", 7)
        pdf.cell(17, 5, label)
        pdf.set_font("Helvetica", "", 7)
        pdf.cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-10)
    pdf.set_font("Helvetica", "", 6)
    pdf.multi_cell(0, 3, _latin1(card.contact_line))
    return bytes(pdf.output())
