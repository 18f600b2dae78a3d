"""Premium rate schedules (SPEC §2 Premium rates): group, plan and period, all four tiers.

Schedules are only ever created. One that an issued invoice used must never change, so
there is no edit: a correction is a new schedule (plus adjustments). Periods of one group
plan never overlap; the check here gives a clear reason, and the database (a trigger on
SQLite, an exclusion constraint on PostgreSQL) is the backstop for concurrent writers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import is_first_of_month, is_last_of_month
from api.services.money import decimal_to_cents
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import CoverageTier, Group, GroupPlan, Plan, RateSchedule, TierRate

MAX_MONTHLY_RATE = Decimal("99999.99")
TIER_FIELDS = {
    CoverageTier.EMPLOYEE: "employee",
    CoverageTier.EMPLOYEE_SPOUSE: "employeeSpouse",
    CoverageTier.EMPLOYEE_CHILDREN: "employeeChildren",
    CoverageTier.FAMILY: "family",
}


@dataclass(frozen=True, slots=True)
class NewSchedule:
    """``rates``: the monthly premium of each tier; a tier absent or ``None`` is missing."""

    plan_code: str
    effective_from: dt.date
    effective_to: dt.date
    rates: Mapping[CoverageTier, Decimal | None]


def period_problems(effective_from: dt.date, effective_to: dt.date) -> list[Problem]:
    """Schedules run by whole months: from a 1st to a last-of-month, not backwards."""
    problems = []
    if not is_first_of_month(effective_from):
        problems.append(
            Problem(
                "EFFECTIVE_FROM_NOT_FIRST_OF_MONTH",
                "A schedule starts on the 1st of a month; pick the 1st.",
                ("effectiveFrom",),
            )
        )
    if effective_to < effective_from:
        problems.append(
            Problem(
                "PERIOD_REVERSED", "effectiveTo must not be before effectiveFrom.", ("effectiveTo",)
            )
        )
    elif not is_last_of_month(effective_to):
        problems.append(
            Problem(
                "EFFECTIVE_TO_NOT_LAST_OF_MONTH",
                "A schedule ends on the last day of a month; pick the last day.",
                ("effectiveTo",),
            )
        )
    return problems


def rate_problems(rates: Mapping[CoverageTier, Decimal | None]) -> list[Problem]:
    """Every tier present, a finite amount of whole cents, from 0 to ``MAX_MONTHLY_RATE``."""
    problems = []
    for tier, name in TIER_FIELDS.items():
        problem = _rate_problem(rates.get(tier))
        if problem is not None:
            code, message = problem
            problems.append(Problem(code, message.format(tier=name), ("rates", name)))
    return problems


def _rate_problem(amount: Decimal | None) -> tuple[str, str] | None:
    """(code, message with a ``{tier}`` placeholder) of what is wrong with ``amount``."""
    if amount is None:
        return "RATE_MISSING", "Give the {tier} rate; a schedule has all four tiers."
    if not amount.is_finite() or amount > MAX_MONTHLY_RATE:
        return "INVALID_RATE", f"The {{tier}} rate must be from 0.00 to {MAX_MONTHLY_RATE}."
    if amount < 0:
        return "NEGATIVE_RATE", "The {tier} rate cannot be negative."
    if amount != amount.quantize(Decimal("0.01")):
        return "FRACTIONAL_CENTS", "The {tier} rate must be in whole cents, e.g. 123.45."
    return None


async def offered_plan(
    session: AsyncSession, group: Group, plan_code: str
) -> tuple[GroupPlan, Plan] | None:
    """The group's offer of the plan with ``plan_code``, if it offers it."""
    stmt = (
        select(GroupPlan, Plan)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(GroupPlan.group_id == group.id, Plan.code == plan_code.strip().upper())
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def overlapping(
    session: AsyncSession, group_plan_id: int, start: dt.date, end: dt.date
) -> RateSchedule | None:
    """A schedule of the group plan whose period shares a day with ``[start, end]``."""
    stmt = select(RateSchedule).where(
        RateSchedule.group_plan_id == group_plan_id,
        RateSchedule.effective_from <= end,
        RateSchedule.effective_to >= start,
    )
    return (await session.scalars(stmt.limit(1))).first()


def overlap_problem(existing: RateSchedule | None = None) -> Problem:
    held = (
        f" ({existing.effective_from.isoformat()} to {existing.effective_to.isoformat()})"
        if existing is not None
        else ""
    )
    return Problem(
        "PERIOD_OVERLAPS",
        f"Another schedule of this plan covers part of this period{held}; periods never "
        "overlap. Start after it ends (corrections are new schedules for later periods).",
        ("effectiveFrom",),
    )


async def create_schedule(
    session: AsyncSession, group: Group, new: NewSchedule
) -> tuple[RateSchedule, Plan]:
    """A new schedule with its four tier rates; refuses a plan the group does not offer, a
    period not in whole months or overlapping another, and missing or bad rates."""
    problems = period_problems(new.effective_from, new.effective_to)
    problems += rate_problems(new.rates)
    offer = await offered_plan(session, group, new.plan_code)
    if offer is None:
        problems.append(
            Problem(
                "PLAN_NOT_OFFERED",
                f"{group.group_number} does not offer plan {new.plan_code!r}; add it first.",
                ("planCode",),
            )
        )
    elif new.effective_from <= new.effective_to:
        clash = await overlapping(session, offer[0].id, new.effective_from, new.effective_to)
        if clash is not None:
            problems.append(overlap_problem(clash))
    refuse_if(problems)
    assert offer is not None  # refused above otherwise
    return await _insert(session, offer[0], new), offer[1]


async def _insert(session: AsyncSession, group_plan: GroupPlan, new: NewSchedule) -> RateSchedule:
    schedule = RateSchedule(
        group_plan_id=group_plan.id,
        effective_from=new.effective_from,
        effective_to=new.effective_to,
    )
    session.add(schedule)
    try:
        await session.flush()
    except IntegrityError as exc:
        if not _is_overlap(exc):
            raise
        raise RuleViolation([overlap_problem()]) from exc
    session.add_all(
        TierRate(rate_schedule_id=schedule.id, tier=tier, monthly_premium_cents=_cents(amount))
        for tier, amount in new.rates.items()
    )
    await session.flush()
    return schedule


def _is_overlap(exc: IntegrityError) -> bool:
    """The SQLite trigger's or the PostgreSQL exclusion constraint's refusal."""
    text = str(exc.orig)
    return "rate_schedules" in text and "overlap" in text


def _cents(amount: Decimal | None) -> int:
    assert amount is not None  # rate_problems refused missing tiers
    return decimal_to_cents(amount)
