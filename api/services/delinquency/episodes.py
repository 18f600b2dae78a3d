"""Assessing a group on a day: the one place that moves a group through the delinquency
stages and back to ACTIVE (SPEC §2 Delinquency).

- A group with money past due has an OPEN episode. Each stage its days past due reach
  is recorded once (a transition with the amounts) and the furthest new stage's letter
  is drafted; the group's status follows the stage (DELINQUENT, SUSPENDED, and at the
  last stage the non-payment termination ``Assessor.terminate``).
- When nothing is past due any more the episode is CURED and the group ACTIVE again; a
  group that had been suspended gets a reinstatement letter.
- A CURED episode re-opens, with its stage and its dates, when money that was due before
  its cure is past due again: the payment that cured it came back (NSF). The group
  returns at once to the stage it had reached; it is never given a new grace period.
- An episode's clock only goes forward: a day before the one it was last assessed on is
  not assessed again.

Payments call this with ``advance=False``: they cure, re-open and refresh the numbers
but never move a group to a further stage; only the daily run does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.dates import last_of_month
from api.services.delinquency import letters
from api.services.delinquency.policy import (
    STAGE_LETTERS,
    STAGES,
    Thresholds,
    date_of,
    stage_for,
)
from api.services.delinquency.standing import Standing
from db.models import (
    DelinquencyEpisode,
    DelinquencyEvent,
    DelinquencyStage,
    DelinquencyTransition,
    EpisodeStatus,
    Group,
    GroupStatus,
    LetterKind,
)

ASSESSED_STATUSES = (GroupStatus.ACTIVE, GroupStatus.DELINQUENT, GroupStatus.SUSPENDED)
STATUS_OF_STAGE = {
    DelinquencyStage.DELINQUENT: GroupStatus.DELINQUENT,
    DelinquencyStage.SECOND_NOTICE: GroupStatus.DELINQUENT,
    DelinquencyStage.SUSPENDED: GroupStatus.SUSPENDED,
}
Terminate = Callable[[AsyncSession, Group, dt.date, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Assessor:
    """Who assesses: the audit trail, the user (a rep's run) or the run, and how to
    terminate a group for non-payment (None: this caller never advances to it)."""

    audit: AuditTrail
    user_id: int | None = None
    run_id: int | None = None
    terminate: Terminate | None = None


@dataclass
class Outcome:
    events: list[DelinquencyEvent] = field(default_factory=list)
    letters: list[LetterKind] = field(default_factory=list)


async def assess(
    session: AsyncSession,
    group: Group,
    standing: Standing,
    thresholds: Thresholds,
    assessor: Assessor,
    *,
    advance: bool = True,
) -> Outcome:
    """Assess ``group`` on ``standing.as_of``; the caller holds the group's lock."""
    outcome = Outcome()
    if group.status not in ASSESSED_STATUSES:
        return outcome
    episode = await open_episode(session, group.id)
    if episode is not None and standing.as_of < episode.assessed_on:
        return outcome  # the episode's clock only goes forward
    step = Step(session, group, standing, thresholds, assessor, outcome)
    if not standing.owes:
        if episode is not None:
            await step.cure(episode)
        return outcome
    episode = episode or await step.reopened()
    if episode is None and advance:
        episode = await step.opened()
    if episode is not None:
        await step.advance(episode, advance=advance)
    return outcome


async def open_episode(session: AsyncSession, group_id: int) -> DelinquencyEpisode | None:
    stmt = select(DelinquencyEpisode).where(
        DelinquencyEpisode.group_id == group_id, DelinquencyEpisode.status == EpisodeStatus.OPEN
    )
    found: DelinquencyEpisode | None = await session.scalar(stmt)
    return found


async def latest_episode(session: AsyncSession, group_id: int) -> DelinquencyEpisode | None:
    stmt = (
        select(DelinquencyEpisode)
        .where(DelinquencyEpisode.group_id == group_id)
        .order_by(DelinquencyEpisode.id.desc())
        .limit(1)
    )
    found: DelinquencyEpisode | None = await session.scalar(stmt)
    return found


@dataclass
class Step:
    session: AsyncSession
    group: Group
    standing: Standing
    thresholds: Thresholds
    assessor: Assessor
    outcome: Outcome
    fresh: bool = False
    """The episode was opened by this assessment: its first stage is new too."""

    async def opened(self) -> DelinquencyEpisode | None:
        """A new episode, once the days past due reach the first notice."""
        if stage_for(self.standing.days_past_due, self.thresholds) is None:
            return None
        assert self.standing.oldest_due_date is not None
        episode = DelinquencyEpisode(
            group_id=self.group.id, status=EpisodeStatus.OPEN, stage=DelinquencyStage.DELINQUENT,
            past_due_since=self.standing.oldest_due_date, opened_on=self.standing.as_of,
            assessed_on=self.standing.as_of, **self._numbers(),
        )  # fmt: skip
        self.session.add(episode)
        await self.session.flush()
        self.fresh = True
        return episode

    async def reopened(self) -> DelinquencyEpisode | None:
        """The latest episode again, when what is past due was due before its cure."""
        latest = await latest_episode(self.session, self.group.id)
        due = self.standing.oldest_due_date
        if latest is None or latest.status is not EpisodeStatus.CURED or due is None:
            return None
        if latest.cured_on is None or due >= latest.cured_on:
            return None
        latest.status, latest.cured_on = EpisodeStatus.OPEN, None
        await self.session.flush()
        reason = (
            f"Money due on {due.isoformat()}, cleared when the episode was cured, is past due "
            "again (the payment that cleared it was returned): the episode resumes with its "
            "original dates."
        )
        self._transition(latest, DelinquencyEvent.REOPENED, reason)
        return latest

    async def advance(self, episode: DelinquencyEpisode, *, advance: bool) -> None:
        """Record each stage newly reached, draft the furthest one's letter, and set the
        group's status to the episode's stage."""
        episode.assessed_on = max(episode.assessed_on, self.standing.as_of)
        _refresh(episode, self._numbers())
        reached = self._newly_reached(episode) if advance else []
        for stage in reached:
            self._transition(episode, DelinquencyEvent(stage.value), self._stage_reason(stage))
            episode.stage = stage
        if reached:
            await self._letter(episode, STAGE_LETTERS[reached[-1]])
        if episode.stage is DelinquencyStage.TERMINATED:
            await self._terminate(episode)
        else:
            self.group.status = STATUS_OF_STAGE[episode.stage]

    async def cure(self, episode: DelinquencyEpisode) -> None:
        """Nothing past due: the episode is CURED and the group ACTIVE (pend lifted)."""
        episode.status, episode.cured_on = EpisodeStatus.CURED, self.standing.as_of
        episode.assessed_on = max(episode.assessed_on, self.standing.as_of)
        _refresh(episode, self._numbers())
        self._transition(episode, DelinquencyEvent.CURED, "The past-due balance was cleared.")
        self.group.status = GroupStatus.ACTIVE
        if STAGES.index(episode.stage) >= STAGES.index(DelinquencyStage.SUSPENDED):
            await self._letter(episode, LetterKind.REINSTATEMENT)

    async def reinstate(self, episode: DelinquencyEpisode, reason: str) -> None:
        """A rep brings a group terminated for non-payment back (``non_payment``)."""
        episode.status = EpisodeStatus.REINSTATED
        episode.assessed_on = max(episode.assessed_on, self.standing.as_of)
        _refresh(episode, self._numbers())
        self._transition(episode, DelinquencyEvent.REINSTATED, reason)
        self.group.status = GroupStatus.ACTIVE
        await self._letter(episode, LetterKind.REINSTATEMENT)

    def _newly_reached(self, episode: DelinquencyEpisode) -> list[DelinquencyStage]:
        target = stage_for(self.standing.days_past_due, self.thresholds)
        if target is None:
            return []
        start = 0 if self.fresh else STAGES.index(episode.stage) + 1
        return list(STAGES[start : STAGES.index(target) + 1])

    async def _terminate(self, episode: DelinquencyEpisode) -> None:
        if self.assessor.terminate is None:
            raise RuntimeError("this caller cannot terminate a group for non-payment")
        last_day = termination_date(self.group, self.standing)
        episode.status, episode.termination_date = EpisodeStatus.TERMINATED, last_day
        await self.session.flush()
        reason = f"Terminated for non-payment: {self.standing.days_past_due} days past due."
        await self.assessor.terminate(self.session, self.group, last_day, reason)

    async def _letter(self, episode: DelinquencyEpisode, kind: LetterKind) -> None:
        facts = letters.LetterFacts(
            as_of=self.standing.as_of, days_past_due=self.standing.days_past_due,
            past_due_cents=self.standing.past_due_cents,
            balance_cents=self.standing.balance_cents, past_due_since=episode.oldest_due_date,
            paid_through_date=self.standing.paid_through_date,
            action_date=self._action_date(episode, kind),
        )  # fmt: skip
        if await letters.draft(self.session, episode, kind, facts) is not None:
            self.outcome.letters.append(kind)

    def _action_date(self, episode: DelinquencyEpisode, kind: LetterKind) -> dt.date | None:
        """What the letter warns of: suspension in a notice, termination in a suspension
        letter, the coverage end in a termination letter."""
        if kind is LetterKind.TERMINATION:
            return episode.termination_date or termination_date(self.group, self.standing)
        following = {LetterKind.FIRST_NOTICE: DelinquencyStage.SUSPENDED,
                     LetterKind.SECOND_NOTICE: DelinquencyStage.SUSPENDED,
                     LetterKind.SUSPENSION: DelinquencyStage.TERMINATED}.get(kind)  # fmt: skip
        if following is None:
            return None
        return date_of(following, episode.oldest_due_date, self.thresholds)

    def _transition(self, episode: DelinquencyEpisode, event: DelinquencyEvent, why: str) -> None:
        s = self.standing
        self.session.add(
            DelinquencyTransition(
                episode_id=episode.id, group_id=self.group.id, event=event, as_of=s.as_of,
                days_past_due=s.days_past_due, past_due_cents=s.past_due_cents,
                balance_cents=s.balance_cents, paid_through_date=s.paid_through_date,
                reason=why, run_id=self.assessor.run_id, user_id=self.assessor.user_id,
            )
        )  # fmt: skip
        self.outcome.events.append(event)
        self.assessor.audit.record(
            f"delinquency.{event.value.lower()}", target_type="Group",
            target_id=self.group.group_number,
            changes={"asOf": s.as_of.isoformat(), "daysPastDue": s.days_past_due,
                     "pastDueCents": s.past_due_cents, "balanceCents": s.balance_cents,
                     "reason": why},
        )  # fmt: skip

    def _numbers(self) -> dict[str, object]:
        s = self.standing
        return {
            "oldest_due_date": s.oldest_due_date,
            "days_past_due": s.days_past_due,
            "past_due_cents": s.past_due_cents,
            "balance_cents": s.balance_cents,
            "paid_through_date": s.paid_through_date,
        }

    def _stage_reason(self, stage: DelinquencyStage) -> str:
        s = self.standing
        return (
            f"{s.days_past_due} days past due (the {stage.value} stage is at "
            f"{self.thresholds.days_of(stage)}): {s.past_due_cents} cents past due, the oldest "
            f"due on {s.oldest_due_date}."
        )


def _refresh(episode: DelinquencyEpisode, numbers: dict[str, object]) -> None:
    """The standing on the episode; a cured one keeps the due date it was about."""
    for name, value in numbers.items():
        if name == "oldest_due_date" and value is None:
            continue
        setattr(episode, name, value)


def termination_date(group: Group, standing: Standing) -> dt.date:
    """The paid-through date (end of the last fully paid month); a group that never paid
    a month is covered to the end of its first month, since coverage cannot end before it
    began (the first month's premium stays owed)."""
    first_month_end = last_of_month(group.effective_date)
    paid = standing.paid_through_date
    return first_month_end if paid is None else max(paid, first_month_end)
