"""Reviewing and sending a delinquency letter (SPEC §2 Delinquency: letters are "reviewed
and sent by a rep"; a SENT letter never changes).

A rep may rewrite the letter's free-text paragraph while it is a DRAFT, then send it: the
letter is emailed to the group's billing contacts and benefit leaders, with a copy to its
sales representatives, and marked SENT, all in the caller's transaction (the emails are an
outbox, ``api.services.mail``), so the letter is SENT exactly when its emails exist. The
row is locked first, so of two concurrent sends one sends and the other is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.delinquency.letter_text import LetterText, render
from api.services.mail import enqueue_email
from api.services.rules import Problem, RuleViolation
from db.models import (
    ContactKind,
    DelinquencyEpisode,
    DelinquencyLetter,
    EpisodeStatus,
    Group,
    GroupContact,
    LetterKind,
    LetterStatus,
)

LETTER_EMAIL = "delinquency.letter"
NOTE_MAX_CHARS = 2_000
_ADDRESSED = (ContactKind.BILLING, ContactKind.BENEFIT_LEADER)
_NOTICE = frozenset({EpisodeStatus.OPEN})
STILL_DUE = {
    LetterKind.FIRST_NOTICE: _NOTICE,
    LetterKind.SECOND_NOTICE: _NOTICE,
    LetterKind.SUSPENSION: _NOTICE,
    LetterKind.TERMINATION: frozenset({EpisodeStatus.TERMINATED}),
    LetterKind.REINSTATEMENT: frozenset({EpisodeStatus.CURED, EpisodeStatus.REINSTATED}),
}
"""The episode statuses in which a draft still says something true: a notice drafted
before the group paid must not go out after it did."""


async def locked_letter(session: AsyncSession, letter_id: int) -> DelinquencyLetter:
    """The letter, locked for this transaction (read afresh, whatever the session held)."""
    stmt = (
        select(DelinquencyLetter)
        .where(DelinquencyLetter.id == letter_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    letter: DelinquencyLetter | None = await session.scalar(stmt)
    if letter is None:
        raise RuleViolation([LETTER_NOT_FOUND])
    return letter


async def edit_note(
    session: AsyncSession, letter: DelinquencyLetter, *, note: str | None, audit: AuditTrail
) -> DelinquencyLetter:
    """Set the rep's paragraph of a DRAFT (blank clears it); at most ``NOTE_MAX_CHARS``."""
    if letter.status is not LetterStatus.DRAFT:
        raise RuleViolation([ALREADY_SENT])
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX_CHARS:
        raise RuleViolation([NOTE_TOO_LONG])
    letter.note = text
    await session.flush()
    audit.record("delinquency_letter.edit", target_type="DelinquencyLetter",
                 target_id=str(letter.id), changes={"noteChars": len(text or "")})  # fmt: skip
    return letter


async def send(
    session: AsyncSession,
    letter: DelinquencyLetter,
    *,
    user_id: int | None,
    audit: AuditTrail,
    now: dt.datetime,
    carrier: str,
) -> DelinquencyLetter:
    """DRAFT → SENT: one email per billing contact and benefit leader, a copy to each sales
    representative. Refused when sent already or when nobody at the group would get it."""
    if letter.status is not LetterStatus.DRAFT:
        raise RuleViolation([ALREADY_SENT])
    episode = await session.get_one(DelinquencyEpisode, letter.episode_id)
    if episode.status not in STILL_DUE[letter.kind]:
        raise RuleViolation([NO_LONGER_DUE])
    group = await session.get_one(Group, letter.group_id)
    addressed, copied = await _recipients(session, group.id)
    if not addressed:
        raise RuleViolation([_no_recipients(group)])
    text = render(letter, group, carrier)
    _enqueue(session, letter, text, addressed, copied, now)
    letter.status, letter.sent_at, letter.sent_by_user_id = LetterStatus.SENT, now, user_id
    await session.flush()
    changes = {"kind": letter.kind.value, "recipients": len(addressed), "copies": len(copied)}
    audit.record("delinquency_letter.send", target_type="DelinquencyLetter",
                 target_id=str(letter.id), changes=changes)  # fmt: skip
    return letter


async def _recipients(
    session: AsyncSession, group_id: int
) -> tuple[list[GroupContact], list[GroupContact]]:
    """Who the letter is to (billing, benefit leaders) and who gets a copy (sales
    representatives), one message per email address."""
    stmt = select(GroupContact).where(GroupContact.group_id == group_id)
    contacts = list(await session.scalars(stmt.order_by(GroupContact.kind, GroupContact.id)))
    addressed = _distinct([c for c in contacts if c.kind in _ADDRESSED], seen=set())
    seen = {c.email_key for c in addressed}
    copied = _distinct([c for c in contacts if c.kind is ContactKind.SALES_REPRESENTATIVE], seen)
    return addressed, copied


def _distinct(contacts: Sequence[GroupContact], seen: set[str]) -> list[GroupContact]:
    """``contacts`` without a second one of an email address already in ``seen``."""
    kept = []
    for contact in contacts:
        if contact.email_key not in seen:
            seen.add(contact.email_key)
            kept.append(contact)
    return kept


def _enqueue(
    session: AsyncSession,
    letter: DelinquencyLetter,
    text: LetterText,
    addressed: Sequence[GroupContact],
    copied: Sequence[GroupContact],
    now: dt.datetime,
) -> None:
    """The outbox has one recipient per message, so a copy is a message of its own, which
    says who the letter went to."""
    sent_to = ", ".join(f"{c.name} <{c.email}>" for c in addressed)
    messages = [(c.email, text.subject, text.body) for c in addressed] + [
        (c.email, f"Copy: {text.subject}", f"Copy of the letter sent to {sent_to}.\n\n{text.body}")
        for c in copied
    ]
    for to, subject, body in messages:
        enqueue_email(session, kind=LETTER_EMAIL, to=to, subject=subject[:300], body_text=body,
                      related_type="DelinquencyLetter", related_id=str(letter.id),
                      now=now)  # fmt: skip


def _no_recipients(group: Group) -> Problem:
    message = (
        f"{group.name} ({group.group_number}) has no billing contact or benefit leader to "
        "send the letter to: add one to the group's contacts, then send the letter."
    )
    return Problem("NO_RECIPIENTS", message, ("letterId",))


LETTER_NOT_FOUND = Problem(
    "LETTER_NOT_FOUND", "There is no such letter; pass the `id` of a letter.", ("letterId",)
)
ALREADY_SENT = Problem(
    "ALREADY_SENT", "This letter has been sent and can no longer change.", ("letterId",)
)
NO_LONGER_DUE = Problem(
    "NO_LONGER_DUE",
    "The delinquency this letter was drafted for has moved on (the group paid, was "
    "re-opened or was reinstated), so what it says is no longer true; it will not be sent.",
    ("letterId",),
)
NOTE_TOO_LONG = Problem(
    "NOTE_TOO_LONG",
    f"Shorten the note to at most {NOTE_MAX_CHARS} characters.",
    ("note",),
)
