"""Drafting a delinquency letter (SPEC §2 Delinquency: "Letters are drafted as documents
(PDF) from templates, reviewed and sent by a rep"; issue: "A letter is never drafted
twice for the same stage and episode").

A draft stores the facts it is written from, as of the day it was drafted; the text and
the PDF are rendered from them (``api.services.delinquency.letter_text``), so a draft
reads the same every time it is opened until a rep edits its note or sends it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DelinquencyEpisode, DelinquencyLetter, LetterKind, LetterStatus


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What a letter states: the amounts, the dates and the paid-through date.
    ``action_date``: the day of what happens next (suspension, termination), if any."""

    as_of: dt.date
    days_past_due: int
    past_due_cents: int
    balance_cents: int
    past_due_since: dt.date
    paid_through_date: dt.date | None
    action_date: dt.date | None


async def draft(
    session: AsyncSession, episode: DelinquencyEpisode, kind: LetterKind, facts: LetterFacts
) -> DelinquencyLetter | None:
    """The episode's letter of ``kind``, drafted now; None when it already has one."""
    if await _drafted(session, episode.id, kind):
        return None
    letter = DelinquencyLetter(
        episode_id=episode.id, group_id=episode.group_id, kind=kind,
        status=LetterStatus.DRAFT, as_of=facts.as_of, days_past_due=facts.days_past_due,
        past_due_cents=facts.past_due_cents, balance_cents=facts.balance_cents,
        past_due_since=facts.past_due_since, paid_through_date=facts.paid_through_date,
        action_date=facts.action_date,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(letter)
    except IntegrityError:
        return None  # a concurrent assessment drafted it first
    return letter


async def _drafted(session: AsyncSession, episode_id: int, kind: LetterKind) -> bool:
    stmt = select(DelinquencyLetter.id).where(
        DelinquencyLetter.episode_id == episode_id, DelinquencyLetter.kind == kind
    )
    return (await session.scalar(stmt)) is not None
