"""Coordination of benefits (SPEC §2 Members and coverage: COB).

Which plan pays first, between this carrier's coverage and a member's other coverage:

1. ``SUBSCRIBER_OWN_PLAN``: the plan where the member is the policy holder (their own
   coverage) is primary over a plan where they are a dependent.
2. ``BIRTHDAY_RULE``: for a dependent of both plans (a child covered by both parents), the
   plan of the parent whose month and day of birth come first in the calendar year is
   primary (the year of birth is ignored).
3. ``LONGER_COVERAGE``: same month and day (or both plans the member's own) → the plan that
   has covered its policy holder longer is primary.
4. ``UNDETERMINED``: the facts above are missing or tie; this carrier is listed first until
   a rep records the missing dates.

Adding and ending other coverage is here too; nothing in this module knows GraphQL.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from api.services.rules import Problem, refuse_if
from db.models import OtherCoverage


class Payer(enum.StrEnum):
    THIS_CARRIER = "THIS_CARRIER"
    OTHER = "OTHER"


class CobRule(enum.StrEnum):
    ONLY_COVERAGE = "ONLY_COVERAGE"
    SUBSCRIBER_OWN_PLAN = "SUBSCRIBER_OWN_PLAN"
    BIRTHDAY_RULE = "BIRTHDAY_RULE"
    LONGER_COVERAGE = "LONGER_COVERAGE"
    UNDETERMINED = "UNDETERMINED"


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """One plan covering the member: is the member its policy holder, and the holder's date
    of birth and first day covered by that plan (``None`` when unknown)."""

    carrier_name: str
    member_is_holder: bool
    holder_birth_date: dt.date | None
    holder_since: dt.date | None
    other_coverage_id: int | None = None


@dataclass(frozen=True, slots=True)
class CobEntry:
    payer: Payer
    carrier_name: str
    order: int
    rule: CobRule
    other_coverage_id: int | None = None


def _earlier(a: dt.date | None, b: dt.date | None, *, month_day: bool) -> bool | None:
    """``True`` when ``a`` comes first, ``False`` when ``b`` does, ``None`` on a tie/unknown."""
    if a is None or b is None:
        return None
    if month_day:
        a, b = a.replace(year=2000), b.replace(year=2000)  # a leap year: Feb 29 fits
    return None if a == b else a < b


def precedes(this: PlanFacts, other: PlanFacts) -> tuple[bool, CobRule]:
    """Whether ``this`` pays before ``other``, and the rule that decided it."""
    if this.member_is_holder != other.member_is_holder:
        return this.member_is_holder, CobRule.SUBSCRIBER_OWN_PLAN
    if not this.member_is_holder:
        first = _earlier(this.holder_birth_date, other.holder_birth_date, month_day=True)
        if first is not None:
            return first, CobRule.BIRTHDAY_RULE
    first = _earlier(this.holder_since, other.holder_since, month_day=False)
    if first is not None:
        return first, CobRule.LONGER_COVERAGE
    return True, CobRule.UNDETERMINED


def cob_order(this: PlanFacts | None, others: list[PlanFacts]) -> list[CobEntry]:
    """The payers in order: other plans that pay before this carrier, this carrier, then the
    rest. ``this`` is ``None`` when the member has no coverage here on the day."""
    if this is None or not others:
        plans = [(p, Payer.OTHER) for p in others] + ([(this, Payer.THIS_CARRIER)] if this else [])
        return [_entry(p, payer, i, CobRule.ONLY_COVERAGE) for i, (p, payer) in enumerate(plans)]
    decided = [(other, *precedes(this, other)) for other in others]
    before = [(o, rule) for o, this_first, rule in decided if not this_first]
    after = [(o, rule) for o, this_first, rule in decided if this_first]
    rule_here = (before[-1] if before else after[0])[1]
    ordered = [*((o, Payer.OTHER, r) for o, r in before), (this, Payer.THIS_CARRIER, rule_here)]
    ordered += [(o, Payer.OTHER, r) for o, r in after]
    return [_entry(plan, payer, i, rule) for i, (plan, payer, rule) in enumerate(ordered)]


def _entry(plan: PlanFacts, payer: Payer, index: int, rule: CobRule) -> CobEntry:
    return CobEntry(payer, plan.carrier_name, index + 1, rule, plan.other_coverage_id)


def holds_policy(
    *, first_name: str, last_name: str, birth_date: dt.date, other: OtherCoverage
) -> bool:
    """The member is the other policy's holder: same name and (when given) date of birth."""
    same_name = " ".join(other.policy_holder_name.split()).casefold() == (
        f"{first_name} {last_name}".casefold()
    )
    born = other.policy_holder_birth_date
    return same_name and (born is None or born == birth_date)


def is_active(other: OtherCoverage, on: dt.date) -> bool:
    return other.effective_date <= on and (
        other.termination_date is None or on <= other.termination_date
    )


@dataclass(frozen=True, slots=True)
class NewOtherCoverage:
    carrier_name: str
    policy_number: str
    group_number: str | None
    policy_holder_name: str
    policy_holder_birth_date: dt.date | None
    policy_holder_since: dt.date | None
    effective_date: dt.date


def _problems(new: NewOtherCoverage, today: dt.date) -> list[Problem]:
    checks = [
        (not new.carrier_name.strip(), "INVALID_CARRIER_NAME", "carrierName", "Give the carrier."),
        (
            not new.policy_number.strip(),
            "INVALID_POLICY_NUMBER",
            "policyNumber",
            "Give the policy number.",
        ),
        (
            not new.policy_holder_name.strip(),
            "INVALID_POLICY_HOLDER",
            "policyHolderName",
            "Give the policy holder's name.",
        ),
        (
            new.policy_holder_birth_date is not None and new.policy_holder_birth_date > today,
            "INVALID_POLICY_HOLDER",
            "policyHolderBirthDate",
            "The policy holder's date of birth cannot be in the future.",
        ),
        (
            new.policy_holder_since is not None and new.policy_holder_since > new.effective_date,
            "INVALID_DATES",
            "policyHolderSince",
            "The policy holder cannot join the plan after the member's coverage starts.",
        ),
    ]
    return [Problem(code, message, (name,)) for bad, code, name, message in checks if bad]


def new_other_coverage(*, member_id: int, new: NewOtherCoverage, today: dt.date) -> OtherCoverage:
    """A validated row (not yet added); ``RuleViolation`` lists every problem."""
    refuse_if(_problems(new, today))
    return OtherCoverage(
        member_id=member_id,
        carrier_name=new.carrier_name.strip(),
        policy_number=new.policy_number.strip(),
        group_number=(new.group_number or "").strip() or None,
        policy_holder_name=" ".join(new.policy_holder_name.split()),
        policy_holder_birth_date=new.policy_holder_birth_date,
        policy_holder_since=new.policy_holder_since,
        effective_date=new.effective_date,
    )


def end_other_coverage(row: OtherCoverage, *, termination_date: dt.date) -> None:
    """Set the last covered day; refused when already ended or before it began."""
    problems = []
    if row.termination_date is not None:
        message = f"This coverage already ended on {row.termination_date.isoformat()}."
        problems.append(Problem("ALREADY_ENDED", message, ("id",)))
    elif termination_date < row.effective_date:
        message = f"End it on or after its effective date, {row.effective_date.isoformat()}."
        problems.append(Problem("INVALID_DATES", message, ("terminationDate",)))
    refuse_if(problems)
    row.termination_date = termination_date
