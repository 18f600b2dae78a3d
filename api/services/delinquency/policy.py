"""The days past due at which a group reaches each stage (SPEC §2 Delinquency table):
the defaults, a group's own thresholds, and emergency grace extensions, which push
suspension and termination back for runs on the days they cover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DelinquencyPolicy, DelinquencyStage, GraceExtension, Group, LetterKind

STAGES = tuple(DelinquencyStage)
"""In order: a group moves forward through them, never back within an episode."""

STAGE_LETTERS = {
    DelinquencyStage.DELINQUENT: LetterKind.FIRST_NOTICE,
    DelinquencyStage.SECOND_NOTICE: LetterKind.SECOND_NOTICE,
    DelinquencyStage.SUSPENDED: LetterKind.SUSPENSION,
    DelinquencyStage.TERMINATED: LetterKind.TERMINATION,
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Days past due at which each stage is reached (SPEC defaults)."""

    first_notice: int = 1
    second_notice: int = 15
    suspension: int = 31
    termination: int = 61

    def days_of(self, stage: DelinquencyStage) -> int:
        return {
            DelinquencyStage.DELINQUENT: self.first_notice,
            DelinquencyStage.SECOND_NOTICE: self.second_notice,
            DelinquencyStage.SUSPENDED: self.suspension,
            DelinquencyStage.TERMINATED: self.termination,
        }[stage]

    def extended(self, extra_days: int) -> Thresholds:
        """A grace extension: suspension and termination ``extra_days`` later."""
        return replace(
            self, suspension=self.suspension + extra_days, termination=self.termination + extra_days
        )


DEFAULT = Thresholds()


def stage_for(days_past_due: int, thresholds: Thresholds) -> DelinquencyStage | None:
    """The furthest stage ``days_past_due`` reaches; None before the first notice."""
    reached = [s for s in STAGES if days_past_due >= thresholds.days_of(s)]
    return reached[-1] if reached else None


def next_stage(stage: DelinquencyStage) -> DelinquencyStage | None:
    index = STAGES.index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


def date_of(stage: DelinquencyStage, oldest_due_date: dt.date, thresholds: Thresholds) -> dt.date:
    """The day ``stage`` is reached if nothing is paid: day N is N days after the due date."""
    return oldest_due_date + dt.timedelta(days=thresholds.days_of(stage))


async def thresholds_for(
    session: AsyncSession, group_ids: Collection[int], as_of: dt.date
) -> dict[int, Thresholds]:
    """Each group's thresholds on ``as_of``: its own or the defaults, extended by the
    longest grace extension covering the day (for every group or the group's state).
    Two statements whatever the number of groups."""
    if not group_ids:
        return {}
    own = await session.execute(
        select(DelinquencyPolicy).where(DelinquencyPolicy.group_id.in_(group_ids))
    )
    base = {row.group_id: thresholds_of(row) for row in own.scalars()}
    extra = await _extensions(session, group_ids, as_of)
    return {pk: base.get(pk, DEFAULT).extended(extra.get(pk, 0)) for pk in group_ids}


def thresholds_of(row: DelinquencyPolicy) -> Thresholds:
    return Thresholds(
        row.first_notice_days, row.second_notice_days, row.suspension_days, row.termination_days
    )


async def _extensions(
    session: AsyncSession, group_ids: Collection[int], as_of: dt.date
) -> dict[int, int]:
    covers = (GraceExtension.starts_on <= as_of) & (GraceExtension.ends_on >= as_of)
    applies = GraceExtension.state.is_(None) | (GraceExtension.state == Group.state)
    stmt = (
        select(Group.id, func.max(GraceExtension.extra_days))
        .join(GraceExtension, covers & applies)
        .where(Group.id.in_(group_ids))
        .group_by(Group.id)
    )
    return {int(pk): int(days) for pk, days in await session.execute(stmt)}
