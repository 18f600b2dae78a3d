"""What the representatives' worklist says about each OPEN episode (issue 8): its latest
letter and the next thing that happens to it, and when.

The next action is sending a letter when one waits as a DRAFT (a rep reviews and sends
letters, SPEC §2 Delinquency); otherwise the next stage, on the day the group's
thresholds in force today (own or default, with grace extensions) put it, if nothing is
paid. A TERMINATED episode has none.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.delinquency import policy
from db.models import DelinquencyLetter, DelinquencyStage, LetterStatus
from db.queries.delinquency import WorklistRow, letters_by_episode


class NextActionKind(enum.StrEnum):
    SEND_LETTER = "SEND_LETTER"
    SECOND_NOTICE = "SECOND_NOTICE"
    SUSPEND = "SUSPEND"
    TERMINATE = "TERMINATE"


_STAGE_ACTIONS = {
    DelinquencyStage.SECOND_NOTICE: NextActionKind.SECOND_NOTICE,
    DelinquencyStage.SUSPENDED: NextActionKind.SUSPEND,
    DelinquencyStage.TERMINATED: NextActionKind.TERMINATE,
}


@dataclass(frozen=True, slots=True)
class NextAction:
    kind: NextActionKind
    on: dt.date


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    row: WorklistRow
    last_letter: DelinquencyLetter | None
    next_action: NextAction | None


def next_action(
    stage: DelinquencyStage,
    oldest_due_date: dt.date,
    thresholds: policy.Thresholds,
    letters: Sequence[DelinquencyLetter],
) -> NextAction | None:
    """The earliest DRAFT letter to send, else the next stage's date (module docstring)."""
    drafts = [letter.as_of for letter in letters if letter.status is LetterStatus.DRAFT]
    if drafts:
        return NextAction(NextActionKind.SEND_LETTER, min(drafts))
    following = policy.next_stage(stage)
    if following is None:
        return None
    return NextAction(
        _STAGE_ACTIONS[following], policy.date_of(following, oldest_due_date, thresholds)
    )


def letter_date(letter: DelinquencyLetter) -> dt.date:
    """The day a letter was drafted for (``as_of``) or, once SENT, the day it was sent."""
    return letter.as_of if letter.sent_at is None else letter.sent_at.date()


async def worklist_entries(
    session: AsyncSession, rows: Sequence[WorklistRow], today: dt.date
) -> list[WorklistEntry]:
    """``rows`` with their letters and next actions: three statements for any number."""
    letters = await letters_by_episode(session, [row.episode.id for row in rows])
    groups = [row.group.id for row in rows]
    thresholds = await policy.thresholds_for(session, groups, as_of=today)
    return [_entry(row, letters[row.episode.id], thresholds[row.group.id]) for row in rows]


def _entry(
    row: WorklistRow, letters: list[DelinquencyLetter], thresholds: policy.Thresholds
) -> WorklistEntry:
    episode = row.episode
    action = next_action(episode.stage, episode.oldest_due_date, thresholds, letters)
    return WorklistEntry(row, letters[-1] if letters else None, action)
