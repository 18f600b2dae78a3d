"""The rules of a self-billed remittance that need no database (SPEC §2 Billing:
"Self-billed groups"): the roster's own checks, the exception threshold, and how the
roster differs from eligibility member by member.

- Threshold: the larger of a floor (default $25) and a whole percentage (default 2 %) of
  the expected premium, rounded half up to the cent. A variance is *within* it when its
  absolute value is at most the threshold.
- Differences: the roster and the expected charges are matched by carrier member ID
  (subscribers only: premium is billed per subscriber). Each member gets at most one
  difference, the first that applies of: REMITTED_NOT_ENROLLED (a line, no coverage on
  the 1st), ENROLLED_NOT_REMITTED (coverage, no line), PLAN_MISMATCH, TIER_MISMATCH and
  RATE_MISMATCH (plan and tier right, amount not the rate). Each difference's
  remitted - expected adds up, over all differences, to the remittance's variance (the
  amount is the sum of the lines, and a line without a difference remits its rate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from api.services.money import format_usd
from api.services.rules import Problem
from db.models import CoverageTier, RemittanceDifferenceKind

Kind = RemittanceDifferenceKind
MAX_LINES = 5000
MAX_MEMBER_ID = 20
MAX_PLAN_CODE = 40


@dataclass(frozen=True, slots=True)
class RosterLine:
    """One roster line as the group sent it; ``position`` is 1-based (the input's index
    + 1, or the CSV line number)."""

    position: int
    member_id: str
    plan_code: str
    tier: CoverageTier
    amount_cents: int


@dataclass(frozen=True, slots=True)
class ExpectedLine:
    """A subscriber's premium for the month under eligibility (their plan, tier, rate)."""

    member_id: str
    plan_code: str
    tier: CoverageTier
    cents: int


@dataclass(frozen=True, slots=True)
class Difference:
    kind: RemittanceDifferenceKind
    member_id: str
    expected: ExpectedLine | None
    remitted: RosterLine | None
    message: str

    @property
    def expected_cents(self) -> int:
        return 0 if self.expected is None else self.expected.cents

    @property
    def remitted_cents(self) -> int:
        return 0 if self.remitted is None else self.remitted.amount_cents


def threshold_cents(expected_cents: int, *, floor_cents: int, percent: int) -> int:
    """The larger of ``floor_cents`` and ``percent`` % of ``expected_cents`` (half up)."""
    share = (expected_cents * percent + 50) // 100
    return max(floor_cents, share)


def within(variance_cents: int, threshold: int) -> bool:
    return abs(variance_cents) <= threshold


def differences(
    month: dt.date, expected: Sequence[ExpectedLine], roster: Sequence[RosterLine]
) -> list[Difference]:
    """Roster lines' differences in roster order, then enrolled members not remitted by
    member ID."""
    owed = {line.member_id: line for line in expected}
    remitted = {line.member_id for line in roster}
    found = [_difference(month, owed.get(line.member_id), line) for line in roster]
    missing = [
        _not_remitted(month, owed[member]) for member in sorted(owed) if member not in remitted
    ]
    return [d for d in found if d is not None] + missing


def _difference(month: dt.date, owed: ExpectedLine | None, line: RosterLine) -> Difference | None:
    day = _day(month)
    if owed is None:
        message = (
            f"{line.member_id} is remitted {format_usd(line.amount_cents)} but is not a "
            f"subscriber covered by the group on {day}. Remove the line, or send the "
            "eligibility change that enrolls them first."
        )
        return Difference(Kind.REMITTED_NOT_ENROLLED, line.member_id, None, line, message)
    enrolled = f"{owed.plan_code} at {owed.tier.value} ({format_usd(owed.cents)})"
    if line.plan_code != owed.plan_code:
        message = (
            f"{line.member_id} is remitted under plan {line.plan_code} but is enrolled in "
            f"{enrolled} on {day}. Remit the enrolled plan, or send a plan change."
        )
        return Difference(Kind.PLAN_MISMATCH, line.member_id, owed, line, message)
    if line.tier is not owed.tier:
        message = (
            f"{line.member_id} is remitted at {line.tier.value} "
            f"({format_usd(line.amount_cents)}) but is enrolled at {owed.tier.value} "
            f"({format_usd(owed.cents)}) on {day}. Remit the enrolled tier, or send the "
            "eligibility change that adds or removes the dependents."
        )
        return Difference(Kind.TIER_MISMATCH, line.member_id, owed, line, message)
    if line.amount_cents != owed.cents:
        message = (
            f"{line.member_id} is remitted {format_usd(line.amount_cents)} but the "
            f"{owed.plan_code} {owed.tier.value} rate on {day} is {format_usd(owed.cents)}. "
            "Remit the rate in force on the 1st of the month."
        )
        return Difference(Kind.RATE_MISMATCH, line.member_id, owed, line, message)
    return None


def _not_remitted(month: dt.date, owed: ExpectedLine) -> Difference:
    message = (
        f"{owed.member_id} is enrolled in {owed.plan_code} at {owed.tier.value} on "
        f"{_day(month)} ({format_usd(owed.cents)}) but is not on the remittance. Add a line "
        "for them, or send their termination if they have left."
    )
    return Difference(Kind.ENROLLED_NOT_REMITTED, owed.member_id, owed, None, message)


def _day(month: dt.date) -> str:
    return f"{month.day} {month:%B %Y}"


def roster_problems(lines: Sequence[RosterLine], *, csv: bool) -> list[Problem]:
    """What is wrong with the roster itself, line by line (each problem names the line);
    for a CSV the problems point at ``csv``, otherwise at the line's field."""
    if not lines or len(lines) > MAX_LINES:
        message = (
            f"Send one line per subscriber remitted for: at least 1 and at most {MAX_LINES} lines."
        )
        return [Problem("TOO_MANY_LINES" if lines else "ROSTER_REQUIRED", message)]
    problems: list[Problem] = []
    first_seen: dict[str, int] = {}
    for line in lines:
        problems += [
            _line_problem(line, column, message, csv=csv) for column, message in _faults(line)
        ]
        first = first_seen.setdefault(line.member_id, line.position)
        if line.member_id and first != line.position:
            message = (
                f"{line.member_id} is already on line {first}; send one line per subscriber "
                "with their whole premium."
            )
            problems.append(
                _line_problem(line, "member_id", message, csv=csv, code="DUPLICATE_MEMBER")
            )
    return problems


def _faults(line: RosterLine) -> Iterator[tuple[str, str]]:
    if not line.member_id:
        yield "member_id", "the member ID is empty; write the subscriber's carrier member ID."
    elif len(line.member_id) > MAX_MEMBER_ID:
        yield "member_id", "the member ID is too long; write the 11-digit carrier member ID."
    if not line.plan_code:
        yield "plan_code", "the plan code is empty; write the plan the subscriber is in."
    elif len(line.plan_code) > MAX_PLAN_CODE:
        yield "plan_code", "the plan code is too long; write one of the group's plan codes."
    if line.amount_cents < 0:
        yield "amount", "the amount is negative; remit 0 or more for the member."


_INPUT_FIELD = {"member_id": "memberId", "plan_code": "planCode", "amount": "amount"}


def _line_problem(
    line: RosterLine, column: str, message: str, *, csv: bool, code: str = "LINE_INVALID"
) -> Problem:
    said = f"Line {line.position}: {message}"
    if csv:
        return Problem("CSV_LINE_INVALID", said, ("csv",))
    return Problem(code, said, ("lines", str(line.position - 1), _INPUT_FIELD[column]))
