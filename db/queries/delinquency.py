"""The representatives' delinquency worklist (issue 8) and the grace extensions list.

Both are representatives' fields only (``rep:billing``, declared on the fields): they see
every group, so nothing here is scoped by group. The worklist is the OPEN episodes with
their groups, filtered and paged by keyset in one statement; the per-stage totals of the
filtered set and the letters of a page's episodes are one statement each.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    DelinquencyEpisode,
    DelinquencyLetter,
    DelinquencyStage,
    EpisodeStatus,
    GraceExtension,
    Group,
    LetterStatus,
)
from db.queries.groups import group_search_clause as group_search
from db.queries.paging import Keyset, Page, PageRequest, fetch_page, finish_page

Episode = DelinquencyEpisode


@dataclass(frozen=True, slots=True)
class WorklistFilter:
    """All conditions must hold. ``search``: a group number prefix or part of the name;
    ``has_draft_letter``: True keeps episodes with a DRAFT letter, False those without."""

    stages: Sequence[DelinquencyStage] | None = None
    search: str | None = None
    min_days_past_due: int | None = None
    has_draft_letter: bool | None = None


class WorklistSort(enum.StrEnum):
    """Worklist orders; each ends on a unique key so pages never skip or repeat a row."""

    DAYS_PAST_DUE = "DAYS_PAST_DUE"
    PAST_DUE_AMOUNT = "PAST_DUE_AMOUNT"
    GROUP_NUMBER = "GROUP_NUMBER"
    ASSESSED_ON = "ASSESSED_ON"


@dataclass(frozen=True, slots=True)
class WorklistRow:
    episode: DelinquencyEpisode
    group: Group


@dataclass(frozen=True, slots=True)
class StageTotal:
    stage: DelinquencyStage
    groups: int
    past_due_cents: int


_SORT_KEYS = {
    WorklistSort.DAYS_PAST_DUE: (Episode.days_past_due, Episode.id),
    WorklistSort.PAST_DUE_AMOUNT: (Episode.past_due_cents, Episode.id),
    WorklistSort.GROUP_NUMBER: (Group.group_number,),
    WorklistSort.ASSESSED_ON: (Episode.assessed_on, Episode.id),
}
_KEY_VALUES = {
    WorklistSort.DAYS_PAST_DUE: lambda row: [row.episode.days_past_due, row.episode.id],
    WorklistSort.PAST_DUE_AMOUNT: lambda row: [row.episode.past_due_cents, row.episode.id],
    WorklistSort.GROUP_NUMBER: lambda row: [row.group.group_number],
    WorklistSort.ASSESSED_ON: lambda row: [row.episode.assessed_on.isoformat(), row.episode.id],
}


def worklist_order(sort: WorklistSort, *, descending: bool) -> Keyset[WorklistRow]:
    """The keyset of a worklist order; its cursors are refused by every other order."""
    return Keyset(
        entity=WorklistRow,
        columns=_SORT_KEYS[sort],
        key_of=_KEY_VALUES[sort],
        descending=descending,
        name=f"worklist:{sort}:{'desc' if descending else 'asc'}",
    )


def _filtered(flt: WorklistFilter) -> Select[DelinquencyEpisode, Group]:
    stmt = (
        select(Episode, Group)
        .join(Group, Group.id == Episode.group_id)
        .where(Episode.status == EpisodeStatus.OPEN)
    )
    if flt.stages:
        stmt = stmt.where(Episode.stage.in_(flt.stages))
    if flt.search and flt.search.strip():
        stmt = stmt.where(group_search(flt.search.strip()))
    if flt.min_days_past_due is not None:
        stmt = stmt.where(Episode.days_past_due >= flt.min_days_past_due)
    if flt.has_draft_letter is not None:
        draft = exists().where(
            DelinquencyLetter.episode_id == Episode.id,
            DelinquencyLetter.status == LetterStatus.DRAFT,
        )
        stmt = stmt.where(draft if flt.has_draft_letter else ~draft)
    return stmt


async def worklist_page(
    session: AsyncSession, *, flt: WorklistFilter, order: Keyset[WorklistRow], page: PageRequest
) -> Page[WorklistRow]:
    """One page of OPEN episodes with their groups, in ``order``: one statement."""
    stmt = _filtered(flt)
    if page.after is not None:
        keys, cursor = tuple_(*order.columns), tuple_(*order.decode(page.after))
        stmt = stmt.where(keys < cursor if order.descending else keys > cursor)
    limited = stmt.order_by(*order.order_by).limit(page.first + 1)
    rows = [WorklistRow(episode, group) for episode, group in await session.execute(limited)]
    return finish_page(rows, page, order.cursor_key)


async def worklist_totals(session: AsyncSession, flt: WorklistFilter) -> list[StageTotal]:
    """Groups and past-due money of the whole filtered set, per stage in stage order
    (every stage, zeros included)."""
    found = _filtered(flt).subquery()
    stmt = select(
        found.c.stage, func.count(), func.coalesce(func.sum(found.c.past_due_cents), 0)
    ).group_by(found.c.stage)
    by_stage = {
        DelinquencyStage(stage): (n, cents) for stage, n, cents in await session.execute(stmt)
    }
    return [StageTotal(s, *map(int, by_stage.get(s, (0, 0)))) for s in DelinquencyStage]


async def count_worklist(session: AsyncSession, flt: WorklistFilter) -> int:
    stmt = select(func.count()).select_from(_filtered(flt).subquery())
    return int(await session.scalar(stmt) or 0)


async def letters_by_episode(
    session: AsyncSession, episode_ids: Sequence[int]
) -> dict[int, list[DelinquencyLetter]]:
    """Each episode's letters, oldest first (at most one of each kind)."""
    stmt = (
        select(DelinquencyLetter)
        .where(DelinquencyLetter.episode_id.in_(episode_ids))
        .order_by(DelinquencyLetter.as_of, DelinquencyLetter.id)
    )
    letters: dict[int, list[DelinquencyLetter]] = {pk: [] for pk in episode_ids}
    for letter in await session.scalars(stmt):
        letters[letter.episode_id].append(letter)
    return letters


async def worklist_rows_by_episode_ids(
    session: AsyncSession, episode_ids: Sequence[int]
) -> dict[int, WorklistRow]:
    """OPEN episodes by id, with their groups (``node(id:)`` of a worklist item)."""
    stmt = _filtered(WorklistFilter()).where(Episode.id.in_(episode_ids))
    return {e.id: WorklistRow(e, g) for e, g in await session.execute(stmt)}


_NEWEST_EXTENSIONS = Keyset(
    GraceExtension,
    (GraceExtension.starts_on, GraceExtension.id),
    lambda row: [row.starts_on.isoformat(), row.id],
    descending=True,
    name="grace:newest",
)


def _extensions(active_on: dt.date | None) -> Select[GraceExtension]:
    stmt = select(GraceExtension)
    if active_on is None:
        return stmt
    return stmt.where(GraceExtension.starts_on <= active_on, GraceExtension.ends_on >= active_on)


async def grace_extensions_page(
    session: AsyncSession, *, active_on: dt.date | None, page: PageRequest
) -> Page[GraceExtension]:
    """Grace extensions, latest start first; with ``active_on``, those covering that day."""
    return await fetch_page(session, _extensions(active_on), _NEWEST_EXTENSIONS, page)


async def count_grace_extensions(session: AsyncSession, *, active_on: dt.date | None) -> int:
    stmt = select(func.count()).select_from(_extensions(active_on).subquery())
    return int(await session.scalar(stmt) or 0)


async def grace_extensions_by_ids(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, GraceExtension]:
    stmt = select(GraceExtension).where(GraceExtension.id.in_(ids))
    return {row.id: row for row in await session.scalars(stmt)}
