"""The words of a delinquency letter (SPEC §2 Delinquency: "Letters are drafted as
documents (PDF) from templates, reviewed and sent by a rep").

One Jinja2 template per kind, ``api/documents/letter_templates/<kind>.txt.j2``: plain text
(no autoescape), an undefined name is an error (``StrictUndefined``), the subject set with
``{% set subject %}`` and the body the rendered template. Everything comes from the
letter's stored facts, so a letter reads the same every time it is rendered: by the API,
in the email that sends it and in its PDF. Amounts are exact (``$1,234.50``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jinja2

from api.services.money import format_usd
from db.models import DelinquencyLetter, Group

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("api.documents", "letter_templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class LetterText:
    """A rendered letter: a one-line subject and the body from greeting to signature."""

    subject: str
    body: str


def long_date(day: dt.date) -> str:
    """``2026-11-01`` -> ``November 1, 2026``, as letters print dates."""
    return f"{day:%B} {day.day}, {day.year}"


def _optional_date(day: dt.date | None) -> str | None:
    return None if day is None else long_date(day)


def mailing_address(group: Group) -> list[str]:
    """The group's address as printed in a letter's address block."""
    street = [group.address_line1, *([group.address_line2] if group.address_line2 else [])]
    return [*street, f"{group.city}, {group.state} {group.postal_code}"]


def _facts(letter: DelinquencyLetter, group: Group, carrier: str) -> dict[str, Any]:
    """What the templates may print, already formatted. ``pay_by``: the last day a payment
    still avoids what happens on ``action_date``."""
    action = letter.action_date
    return {
        "carrier": carrier, "group_name": group.name, "group_number": group.group_number,
        "as_of": long_date(letter.as_of), "days_past_due": letter.days_past_due,
        "past_due": format_usd(letter.past_due_cents), "balance": format_usd(letter.balance_cents),
        "past_due_since": long_date(letter.past_due_since),
        "paid_through": _optional_date(letter.paid_through_date),
        "action_date": _optional_date(action),
        "pay_by": None if action is None else long_date(action - dt.timedelta(days=1)),
        "note": (letter.note or "").strip() or None,
    }  # fmt: skip


def render(letter: DelinquencyLetter, group: Group, carrier: str) -> LetterText:
    """The subject and body of ``letter`` to ``group``, signed by ``carrier``."""
    template = _TEMPLATES.get_template(f"{letter.kind.value.lower()}.txt.j2")
    module = template.make_module(_facts(letter, group, carrier))
    subject = " ".join(str(vars(module)["subject"]).split())
    return LetterText(subject=subject, body=str(module).strip() + "\n")
