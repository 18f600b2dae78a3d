"""The daily aging-out job (SPEC §2: a child is covered until the end of the month they
turn the dependent age limit, 26 by default, "produced by a daily job").

A run as of a day ends, at the last day of their birthday month, the coverage of every
child whose birthday month has ended on or before that day (a run on the month's last day
includes it) and whose coverage still runs past it. The children are selected in one
query; each family is then locked like any change (``lock_family``), its spans cut and
its rows and tiers re-derived (``write_family``). A second run for the same day finds
nothing to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.services.audit import AuditTrail
from api.services.dates import add_months, is_last_of_month
from api.services.eligibility.rules import Limits, age_limit_end
from api.services.eligibility.spans import Family, lock_family, truncate, write_family
from db.models import Coverage, Member, MemberStatus, Relationship

_DateColumn = (
    ColumnElement[dt.date]
    | ColumnElement[dt.date | None]
    | InstrumentedAttribute[dt.date]
    | InstrumentedAttribute[dt.date | None]
)


@dataclass(frozen=True, slots=True)
class AgingOutReport:
    """``candidates``: children selected; ``terminated``: those whose coverage was cut;
    ``families``: families re-derived."""

    as_of: dt.date
    candidates: int
    terminated: int
    families: int


def _birth_cutoff(as_of: dt.date, age_limit: int) -> dt.date:
    """Children born before this day have finished their birthday month by ``as_of``."""
    month = add_months(as_of, 1) if is_last_of_month(as_of) else as_of.replace(day=1)
    return month.replace(year=month.year - age_limit)


def _month_index(column: _DateColumn) -> ColumnElement[int]:
    """``year * 12 + month`` of a date column (``EXTRACT``; SQLite through ``strftime``)."""
    return extract("year", column) * 12 + extract("month", column)


async def candidates(
    session: AsyncSession, *, as_of: dt.date, age_limit: int
) -> dict[int, list[int]]:
    """Children past the limit by ``as_of`` with a coverage row running past their birthday
    month, by subscriber pk (one set-based query)."""
    birthday_month = _month_index(Member.date_of_birth) + age_limit * 12
    ends_later = or_(
        Coverage.termination_date.is_(None),
        _month_index(Coverage.termination_date) > birthday_month,
    )
    stmt = (
        select(Member.subscriber_id, Member.id)
        .join(Coverage, Coverage.member_id == Member.id)
        .where(
            Member.relationship == Relationship.CHILD,
            Member.status != MemberStatus.MERGED,
            Member.subscriber_id.is_not(None),
            Member.date_of_birth < _birth_cutoff(as_of, age_limit),
            ends_later,
        )
        .distinct()
    )
    found: dict[int, list[int]] = {}
    for subscriber, child in await session.execute(stmt):
        assert subscriber is not None  # selected so
        found.setdefault(subscriber, []).append(child)
    return found


async def age_out(
    session: AsyncSession,
    *,
    as_of: dt.date,
    limits: Limits | None = None,
    audit: AuditTrail | None = None,
) -> AgingOutReport:
    """End the coverage of every child past the age limit by ``as_of`` (see the module
    docstring); the caller commits. Records ``eligibility.ageOut`` per child in ``audit``."""
    limits = limits or Limits()
    found = await candidates(session, as_of=as_of, age_limit=limits.dependent_age_limit)
    terminated = families = 0
    for subscriber_pk, children in sorted(found.items()):
        cut = await _age_out_family(session, subscriber_pk, set(children), as_of, limits)
        terminated, families = terminated + len(cut), families + bool(cut)
        for member_id, last_day in cut.items():
            _record(audit, member_id, last_day, as_of)
    total = sum(len(children) for children in found.values())
    return AgingOutReport(as_of, total, terminated, families)


async def _age_out_family(
    session: AsyncSession, subscriber_pk: int, children: set[int], as_of: dt.date, limits: Limits
) -> Mapping[str, dt.date]:
    """Under the family lock: cut each child's spans at their limit; {member ID: last day}."""
    family = await lock_family(session, subscriber_pk)
    cut = {}
    for child in family.dependents:
        if child.id in children and _cut(family, child, limits):
            cut[child.member_id] = age_limit_end(child.date_of_birth, limits)
    if cut:
        await write_family(session, family, today=as_of)
    return cut


def _cut(family: Family, child: Member, limits: Limits) -> bool:
    """Truncate ``child``'s spans at the age limit; whether anything changed."""
    last_day = age_limit_end(child.date_of_birth, limits)
    spans = family.covered.get(child.id, [])
    if not any(span.end is None or span.end > last_day for span in spans):
        return False
    family.covered[child.id] = truncate(spans, last_day)
    return True


def _record(audit: AuditTrail | None, member_id: str, last_day: dt.date, as_of: dt.date) -> None:
    if audit is None:
        return
    audit.record(
        "eligibility.ageOut",
        target_type="Member",
        target_id=member_id,
        changes={"terminationDate": last_day.isoformat(), "asOf": as_of.isoformat()},
    )
