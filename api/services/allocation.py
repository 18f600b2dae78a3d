"""How money meets invoices, as pure rules (SPEC §2 Billing: payments are "applied to open
invoices oldest first; an overpayment stays as an unapplied credit").

``api.services.ledger`` reads the open amounts, asks ``match`` what to apply and writes
the allocations; nothing here touches the database, so the rules are easy to test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.models import InvoiceStatus


@dataclass(frozen=True, slots=True)
class Open:
    """Cents still open on a payment (unapplied) or on an invoice (unpaid); ``id`` is the
    row's primary key."""

    id: int
    cents: int


@dataclass(frozen=True, slots=True)
class Match:
    """``cents`` of payment ``payment_id`` applied to invoice ``invoice_id``."""

    payment_id: int
    invoice_id: int
    cents: int


def match(credits: Sequence[Open], debts: Sequence[Open]) -> list[Match]:
    """Apply the oldest credit to the oldest debt until one side runs out. Both sequences
    come ordered oldest first (payments by received date, invoices by due date); the
    result never applies more than a payment has or an invoice asks."""
    matches: list[Match] = []
    credit_left = [c.cents for c in credits]
    debt_left = [d.cents for d in debts]
    i = j = 0
    while i < len(credits) and j < len(debts):
        cents = min(credit_left[i], debt_left[j])
        if cents > 0:
            matches.append(Match(credits[i].id, debts[j].id, cents))
        credit_left[i] -= cents
        debt_left[j] -= cents
        i += credit_left[i] <= 0
        j += debt_left[j] <= 0
    return matches


def status_of(*, asked: int, open_cents: int) -> InvoiceStatus:
    """An entered invoice's status from its money: nothing open is PAID (a write-off of
    the rest settles it too); something applied but not all is PARTIALLY_PAID; nothing
    applied is ISSUED. ``asked`` is what the invoice asks after write-offs."""
    if open_cents <= 0:
        return InvoiceStatus.PAID
    if open_cents < asked:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.ISSUED
