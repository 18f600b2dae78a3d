"""A family's coverage as state, and its coverage rows re-derived from that state.

State: the subscriber's plan spans (plan over dates) and each dependent's covered
intervals. Rows: for every stretch of days in which nothing changes, the subscriber's
plan and the tier ``tier_for`` gives for the dependents covered then (SPEC §2: the tier
is derived from the covered dependents); dependents' rows are the subscriber's clipped to
their own intervals, so a dependent never outlasts the subscriber. Writing keeps every
row that is still right and replaces only the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.coverage import tier_for
from db.models import Coverage, CoverageTier, Member, MemberStatus

ONE_DAY = dt.timedelta(days=1)
RowKey = tuple[int, CoverageTier, dt.date, dt.date | None]
"""(group plan, tier, effective date, termination date) of one coverage row."""


@dataclass(slots=True)
class Span:
    """Covered days ``[start, end]`` (``end`` None: open) under ``plan`` (subscribers)."""

    start: dt.date
    end: dt.date | None
    plan: int = 0

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(slots=True)
class Family:
    """A subscriber and dependents, locked, with their rows and coverage state."""

    subscriber: Member
    dependents: list[Member]
    rows: dict[int, list[Coverage]]
    plans: list[Span] = field(default_factory=list)
    covered: dict[int, list[Span]] = field(default_factory=dict)

    def member(self, pk: int) -> Member | None:
        return next((m for m in [self.subscriber, *self.dependents] if m.id == pk), None)

    def spans_of(self, pk: int) -> list[Span]:
        return self.plans if pk == self.subscriber.id else self.covered.setdefault(pk, [])


async def lock_subscribers(session: AsyncSession, subscriber_pks: Iterable[int]) -> None:
    """``SELECT … FOR UPDATE`` on subscribers' rows, in id order so that two callers locking
    overlapping families never deadlock. Every change to a family takes this lock first."""
    lock = (
        select(Member.id)
        .where(Member.id.in_(sorted(set(subscriber_pks))))
        .order_by(Member.id)
        .with_for_update()
    )
    await session.execute(lock)


async def lock_family(session: AsyncSession, subscriber_pk: int) -> Family:
    """Lock the subscriber's row (``SELECT … FOR UPDATE``; SQLite serializes writers) before
    reading any coverage, so concurrent changes to one family queue instead of racing."""
    await lock_subscribers(session, [subscriber_pk])
    fresh = {"populate_existing": True}
    members = list(
        await session.scalars(
            select(Member)
            .where(or_(Member.id == subscriber_pk, Member.subscriber_id == subscriber_pk))
            .order_by(Member.member_id)
            .execution_options(**fresh)
        )
    )
    rows = await session.scalars(
        select(Coverage)
        .where(Coverage.member_id.in_([m.id for m in members]))
        .order_by(Coverage.member_id, Coverage.effective_date)
        .execution_options(**fresh)
    )
    return _family(members, list(rows))


def _family(members: list[Member], rows: list[Coverage]) -> Family:
    by_member: dict[int, list[Coverage]] = {m.id: [] for m in members}
    for row in rows:
        by_member[row.member_id].append(row)
    subscriber = members[0]
    family = Family(subscriber, members[1:], by_member)
    family.plans = merged([_span(row) for row in by_member[subscriber.id]], by_plan=True)
    for dependent in family.dependents:
        family.covered[dependent.id] = merged([_span(row) for row in by_member[dependent.id]])
    return family


def _span(row: Coverage) -> Span:
    return Span(row.effective_date, row.termination_date, row.group_plan_id)


def merged(spans: list[Span], *, by_plan: bool = False) -> list[Span]:
    """Adjacent spans joined (of the same plan when ``by_plan``)."""
    result: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        last = result[-1] if result else None
        joins = last is not None and last.end is not None and last.end + ONE_DAY == span.start
        if last is not None and joins and (not by_plan or last.plan == span.plan):
            last.end = span.end
            continue
        result.append(Span(span.start, span.end, span.plan))
    return result


def covered_on(spans: list[Span], day: dt.date) -> Span | None:
    return next((span for span in spans if span.covers(day)), None)


def truncate(spans: list[Span], last_day: dt.date) -> list[Span]:
    """``spans`` ending no later than ``last_day`` (an earlier end is kept)."""
    kept = [Span(s.start, s.end, s.plan) for s in spans if s.start <= last_day]
    for span in kept:
        if span.end is None or span.end > last_day:
            span.end = last_day
    return kept


def end_of(spans: list[Span]) -> dt.date | None:
    """The last covered day (None: open-ended); only for non-empty ``spans``."""
    return spans[-1].end


def desired_rows(family: Family) -> dict[int, list[RowKey]]:
    """Every member's rows, derived from the state (see the module docstring)."""
    result: dict[int, list[RowKey]] = {pk: [] for pk in family.rows}
    points = _breakpoints(family)
    for index, start in enumerate(points):
        end = points[index + 1] - ONE_DAY if index + 1 < len(points) else None
        plan = covered_on(family.plans, start)
        if plan is None:
            continue
        deps = [d for d in family.dependents if covered_on(family.covered.get(d.id, []), start)]
        tier = tier_for(covered_dependents=[d.relationship for d in deps])
        for member in [family.subscriber, *deps]:
            _extend(result[member.id], (plan.plan, tier, start, end))
    return result


def _breakpoints(family: Family) -> list[dt.date]:
    points: set[dt.date] = set()
    for spans in [family.plans, *family.covered.values()]:
        for span in spans:
            points.add(span.start)
            if span.end is not None:
                points.add(span.end + ONE_DAY)
    return sorted(points)


def _extend(rows: list[RowKey], row: RowKey) -> None:
    """Append ``row``, joining it to the previous one when plan and tier continue."""
    if rows:
        plan, tier, start, end = rows[-1]
        if (plan, tier) == row[:2] and end is not None and end + ONE_DAY == row[2]:
            rows[-1] = (plan, tier, start, row[3])
            return
    rows.append(row)


async def write_family(session: AsyncSession, family: Family, *, today: dt.date) -> None:
    """Replace the rows that differ from the derived ones; deletes go first so that the
    no-overlap constraint never sees old and new spans at once."""
    desired = desired_rows(family)
    stale = [
        row for pk, rows in family.rows.items() for row in rows if _key(row) not in desired[pk]
    ]
    for row in stale:
        await session.delete(row)
    await session.flush()
    for pk, keys in desired.items():
        have = {_key(row) for row in family.rows[pk]}
        session.add_all(_row(pk, key) for key in keys if key not in have)
    for member in [family.subscriber, *family.dependents]:
        member.status = _status(desired[member.id], today, member.status)
    await session.flush()


def _key(row: Coverage) -> RowKey:
    return (row.group_plan_id, row.tier, row.effective_date, row.termination_date)


def _row(member_pk: int, key: RowKey) -> Coverage:
    plan, tier, start, end = key
    return Coverage(
        member_id=member_pk,
        group_plan_id=plan,
        tier=tier,
        effective_date=start,
        termination_date=end,
    )


def _status(rows: list[RowKey], today: dt.date, current: MemberStatus) -> MemberStatus:
    if current is MemberStatus.MERGED:
        return current
    ongoing = any(end is None or end >= today for *_, end in rows)
    return MemberStatus.ACTIVE if ongoing else MemberStatus.TERMINATED
