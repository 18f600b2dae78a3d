"""Setting the delinquency rules (issue 8): a group's own thresholds (or back to the SPEC
defaults) and emergency grace extensions. Every check is made before anything is written
(``api.services.rules``); the thresholds a run uses come from ``policy.thresholds_for``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.delinquency.policy import DEFAULT, Thresholds, thresholds_for
from api.services.delinquency.policy import thresholds_of as own_thresholds
from api.services.ledger import lock_group
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import DelinquencyPolicy, GraceExtension

MAX_TERMINATION_DAYS = 365
MAX_EXTENSION_DAYS = 366
"""An extension covers at most a year of run dates (a leap year's, start and end included)."""
EXTRA_DAYS_RANGE = range(1, 181)
MAX_REASON_LENGTH = 1000

US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
})  # fmt: skip
"""The states, DC and the inhabited territories (USPS codes): where groups can be."""

_INPUT_FIELDS = {
    "first_notice": "firstNoticeDays",
    "second_notice": "secondNoticeDays",
    "suspension": "suspensionDays",
    "termination": "terminationDays",
}


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """A group's thresholds on a day: ``thresholds`` with grace extensions applied, its
    ``own`` thresholds (None: the defaults) and the days an extension adds."""

    thresholds: Thresholds
    own: Thresholds | None
    grace_extra_days: int


def as_changes(thresholds: Thresholds | None) -> dict[str, int] | None:
    """Thresholds as the audit log records them, by input field (None: the defaults)."""
    if thresholds is None:
        return None
    return {_INPUT_FIELDS[name]: days for name, days in asdict(thresholds).items()}


def check_thresholds(thresholds: Thresholds) -> list[Problem]:
    """First notice at 1 day or later, each stage later than the one before, termination
    within a year (SPEC §2 Delinquency table, per group)."""
    days = asdict(thresholds)
    problems = []
    if thresholds.first_notice < 1:
        problems.append(_days_problem("first_notice", "must be at least 1"))
    if thresholds.termination > MAX_TERMINATION_DAYS:
        problems.append(_days_problem("termination", f"must be at most {MAX_TERMINATION_DAYS}"))
    names = list(_INPUT_FIELDS)
    for earlier, later in itertools.pairwise(names):
        if days[later] <= days[earlier]:
            message = f"Make {_INPUT_FIELDS[later]} more than {_INPUT_FIELDS[earlier]}."
            problems.append(Problem("NOT_INCREASING", message, (_INPUT_FIELDS[later],)))
    return problems


def _days_problem(name: str, rule: str) -> Problem:
    message = f"{_INPUT_FIELDS[name]} {rule} (days past due)."
    return Problem("DAYS_OUT_OF_RANGE", message, (_INPUT_FIELDS[name],))


async def set_policy(
    session: AsyncSession, *, group_id: int, thresholds: Thresholds, user_id: int | None
) -> Thresholds | None:
    """Give the group its own thresholds; returns the own ones it had before. The group's
    lock first: two first-time sets of one group then insert one after the other."""
    refuse_if(check_thresholds(thresholds))
    await lock_group(session, group_id)
    row = await session.get(DelinquencyPolicy, group_id, with_for_update=True)
    before = None if row is None else own_thresholds(row)
    if row is None:
        row = DelinquencyPolicy(group_id=group_id)
        session.add(row)
    row.first_notice_days = thresholds.first_notice
    row.second_notice_days = thresholds.second_notice
    row.suspension_days = thresholds.suspension
    row.termination_days = thresholds.termination
    row.updated_by_user_id = user_id
    await session.flush()
    return before


async def reset_policy(session: AsyncSession, *, group_id: int) -> Thresholds | None:
    """Back to the defaults; returns the own thresholds it had (None: it had none)."""
    row = await session.get(DelinquencyPolicy, group_id, with_for_update=True)
    if row is None:
        return None
    before = own_thresholds(row)
    await session.delete(row)
    await session.flush()
    return before


async def policies_in_force(
    session: AsyncSession, group_ids: Sequence[int], *, as_of: dt.date
) -> dict[int, PolicyInForce]:
    """Each group's ``PolicyInForce`` on ``as_of``: three statements for any number."""
    stmt = select(DelinquencyPolicy).where(DelinquencyPolicy.group_id.in_(group_ids))
    own = {row.group_id: own_thresholds(row) for row in await session.scalars(stmt)}
    in_force = await thresholds_for(session, group_ids, as_of)
    return {pk: _in_force(thresholds, own.get(pk)) for pk, thresholds in in_force.items()}


def _in_force(thresholds: Thresholds, own: Thresholds | None) -> PolicyInForce:
    """The extension's days: how much later suspension is than without it."""
    return PolicyInForce(thresholds, own, thresholds.suspension - (own or DEFAULT).suspension)


def _normalized_state(state: str | None) -> str | None:
    """Upper case, trimmed; a blank one stays invalid (it must not mean every group)."""
    return None if state is None else state.strip().upper()


def check_extension(
    *, starts_on: dt.date, ends_on: dt.date, extra_days: int, state: str | None, reason: str
) -> list[Problem]:
    """An extension's rules: a reason, a known state (or none: every group), 1 to 180
    extra days and a span of 1 to ``MAX_EXTENSION_DAYS`` run dates."""
    problems = []
    if not reason.strip() or len(reason) > MAX_REASON_LENGTH:
        message = f"Say why (the declared emergency), in at most {MAX_REASON_LENGTH} characters."
        problems.append(Problem("REASON_REQUIRED", message, ("reason",)))
    if state is not None and state not in US_STATES:
        message = "Use a US state's two-letter code (e.g. FL), or leave it out for every group."
        problems.append(Problem("STATE_INVALID", message, ("state",)))
    if extra_days not in EXTRA_DAYS_RANGE:
        message = f"Give {EXTRA_DAYS_RANGE.start} to {EXTRA_DAYS_RANGE.stop - 1} extra days."
        problems.append(Problem("EXTRA_DAYS_OUT_OF_RANGE", message, ("extraDays",)))
    problems += _span_problems(starts_on, ends_on)
    return problems


def _span_problems(starts_on: dt.date, ends_on: dt.date) -> list[Problem]:
    if ends_on < starts_on:
        return [Problem("ENDS_BEFORE_START", "Make endsOn on or after startsOn.", ("endsOn",))]
    if (ends_on - starts_on).days + 1 > MAX_EXTENSION_DAYS:
        message = f"An extension covers at most {MAX_EXTENSION_DAYS} days; end it sooner."
        return [Problem("TOO_LONG", message, ("endsOn",))]
    return []


async def create_extension(
    session: AsyncSession,
    *,
    starts_on: dt.date,
    ends_on: dt.date,
    extra_days: int,
    state: str | None,
    reason: str,
    user_id: int | None,
) -> GraceExtension:
    """Declare an emergency grace extension: runs on its days suspend and terminate
    ``extra_days`` later, for every group or only those in ``state``."""
    state = _normalized_state(state)
    refuse_if(check_extension(starts_on=starts_on, ends_on=ends_on, extra_days=extra_days,
                              state=state, reason=reason))  # fmt: skip
    extension = GraceExtension(
        starts_on=starts_on, ends_on=ends_on, extra_days=extra_days, state=state,
        reason=reason.strip(), created_by_user_id=user_id,
    )  # fmt: skip
    session.add(extension)
    await session.flush()
    return extension


async def end_extension(
    session: AsyncSession, *, extension_id: int, ends_on: dt.date
) -> tuple[dt.date, GraceExtension]:
    """End an extension early (on ``ends_on``, its last day); returns the end it had.
    Never later than it was: a longer one is a new declaration, with its own reason."""
    extension = await session.get(GraceExtension, extension_id, with_for_update=True)
    if extension is None:
        message = "No grace extension with this ID; pass the `id` of one in graceExtensions."
        raise RuleViolation([Problem("EXTENSION_NOT_FOUND", message, ("id",))])
    problems = _span_problems(extension.starts_on, ends_on)
    if ends_on > extension.ends_on:
        message = f"It ends on {extension.ends_on} already; pick that day or an earlier one."
        problems.append(Problem("NOT_EARLIER", message, ("endsOn",)))
    refuse_if(problems)
    before, extension.ends_on = extension.ends_on, ends_on
    await session.flush()
    return before, extension
