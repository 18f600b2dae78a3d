"""Coverage on a date, for the claims system and staff (SPEC §2 Members and coverage,
SPEC §2 Delinquency): is the member covered on a day, under which plan and tier, and do
their claims pend because the group is suspended?

Plain functions over loaded rows: no SQL, no GraphQL.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from db.models import GroupStatus

# SPEC §2 Delinquency: at SUSPENDED "claims pend for the group's members".
CLAIMS_PEND_STATUSES = frozenset({GroupStatus.SUSPENDED})


class Span(Protocol):
    """A coverage span: both ends included, an open end is ``None``."""

    @property
    def effective_date(self) -> dt.date: ...

    @property
    def termination_date(self) -> dt.date | None: ...


S = TypeVar("S", bound=Span)


class CoverageOnReason(enum.StrEnum):
    """Why a claim on the day would not simply pay."""

    NOT_YET_EFFECTIVE = "NOT_YET_EFFECTIVE"
    TERMINATED = "TERMINATED"
    NO_COVERAGE = "NO_COVERAGE"
    GROUP_SUSPENDED = "GROUP_SUSPENDED"


def covers(span: Span, day: dt.date) -> bool:
    """The span covers ``day``: effective on or before it, not terminated before it."""
    end = span.termination_date
    return span.effective_date <= day and (end is None or day <= end)


def span_on(spans: Iterable[S], day: dt.date) -> S | None:
    """The span in force on ``day``; spans of one member never overlap, so at most one."""
    return next((span for span in spans if covers(span, day)), None)


def claims_pended(status: GroupStatus) -> bool:
    """Claims pend while the group is suspended for non-payment (SPEC §2 Delinquency)."""
    return status in CLAIMS_PEND_STATUSES


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Completed years on ``day`` (a 29 February birthday counts from 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


@dataclass(frozen=True, slots=True)
class CoverageVerdict:
    covered: bool
    claims_pended: bool
    reason: CoverageOnReason | None
    message: str | None


def verdict(*, spans: Iterable[Span], day: dt.date, group_status: GroupStatus) -> CoverageVerdict:
    """Covered on ``day`` and whether claims pend; a reason and message when either fails.
    A suspended group's claims pend whatever the coverage (the pend is the group's)."""
    spans = list(spans)
    pended = claims_pended(group_status)
    if span_on(spans, day) is not None:
        if pended:
            return CoverageVerdict(True, True, CoverageOnReason.GROUP_SUSPENDED, _SUSPENDED)
        return CoverageVerdict(True, False, None, None)
    reason = _uncovered_reason(spans, day)
    return CoverageVerdict(False, pended, reason, _MESSAGES[reason])


def _uncovered_reason(spans: list[Span], day: dt.date) -> CoverageOnReason:
    if any(span.effective_date > day for span in spans):
        return CoverageOnReason.NOT_YET_EFFECTIVE
    if spans:
        return CoverageOnReason.TERMINATED
    return CoverageOnReason.NO_COVERAGE


_SUSPENDED = (
    "The member is covered, but the group is suspended for non-payment: hold claims until "
    "the group is brought current."
)
_MESSAGES = {
    CoverageOnReason.NOT_YET_EFFECTIVE: "The member's coverage starts after this date.",
    CoverageOnReason.TERMINATED: "The member's coverage ended before this date.",
    CoverageOnReason.NO_COVERAGE: "The member has no coverage on file.",
    CoverageOnReason.GROUP_SUSPENDED: _SUSPENDED,
}
