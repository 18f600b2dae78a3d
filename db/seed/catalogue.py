"""The carrier's plan catalogue and the premium rates groups pay for its plans.

Why fixed plans: every seed offers the same four plans (plans may even exist before any
group does), and only the premiums vary from group to group. A group plan's rates come
in consecutive 12-month schedules; dependent tiers cost a fixed multiple of the EMPLOYEE
premium (about 1.9x, 2x, 3x) and each renewal is 2-7 % dearer, all in whole cents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import CoverageTier, Plan, PlanType
from db.seed.inserts import Progress, Row, insert_rows
from db.seed.months import first_day, last_day


@dataclass(frozen=True)
class CataloguePlan:
    code: str
    name: str
    plan_type: PlanType
    description: str
    employee_cents: tuple[int, int]
    """Range of the monthly EMPLOYEE premium when a group starts, in cents."""


PLAN_CATALOGUE = (
    CataloguePlan(
        "DPPO-BASIC",
        "Dental PPO Basic",
        PlanType.DPPO,
        "Preferred provider plan: preventive care at 100 %, basic services at 80 % after a "
        "$50 deductible, $1,000 annual maximum. Any licensed dentist; lower cost in network.",
        (3_800, 4_600),
    ),
    CataloguePlan(
        "DPPO-PLUS",
        "Dental PPO Plus",
        PlanType.DPPO,
        "Preferred provider plan: preventive at 100 %, basic at 80 %, major services at "
        "50 %, child orthodontia at 50 % ($1,500 lifetime), $2,000 annual maximum.",
        (4_800, 6_000),
    ),
    CataloguePlan(
        "DHMO-100",
        "DHMO 100",
        PlanType.DHMO,
        "Managed-care plan with an assigned network dentist: no deductible, no annual "
        "maximum, fixed copays for basic and major services.",
        (2_800, 3_300),
    ),
    CataloguePlan(
        "DHMO-200",
        "DHMO 200",
        PlanType.DHMO,
        "Managed-care plan with an assigned network dentist and lower copays than DHMO 100, "
        "orthodontia included for children and adults.",
        (3_300, 3_900),
    ),
)

# Premium of each dependent tier as a percentage of the EMPLOYEE premium: (tier, min, max).
_TIER_PERCENTS = (
    (CoverageTier.EMPLOYEE_SPOUSE, 188, 192),
    (CoverageTier.EMPLOYEE_CHILDREN, 198, 202),
    (CoverageTier.FAMILY, 295, 305),
)


def _scale(cents: int, numerator: int, denominator: int) -> int:
    """``cents * numerator / denominator`` rounded half-up, in integers (money is exact)."""
    return (2 * cents * numerator + denominator) // (2 * denominator)


async def insert_plans(conn: AsyncConnection, report: Progress) -> tuple[int, dict[str, int]]:
    """Add the catalogue plans not there yet (plans may exist before any group does);
    returns how many were added and the id of every catalogue code."""
    found = await conn.execute(select(Plan.code, Plan.id))
    existing: dict[str, int] = dict(found.all())
    next_id = max(existing.values(), default=0) + 1
    missing = [plan for plan in PLAN_CATALOGUE if plan.code not in existing]
    added = {plan.code: next_id + index for index, plan in enumerate(missing)}
    rows = [
        {
            "id": added[plan.code],
            "code": plan.code,
            "name": plan.name,
            "description": plan.description,
            "plan_type": plan.plan_type,
        }
        for plan in missing
    ]
    await insert_rows(conn, Plan, rows)
    report(f"plans {len(rows)}/{len(PLAN_CATALOGUE)}")
    return len(rows), existing | added


class RateBook:
    """Rate schedule and tier rate rows, numbered from 1 in the order they are added."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.schedules: list[Row] = []
        self.tier_rates: list[Row] = []

    def add_group_plan(self, group_plan_id: int, plan: CataloguePlan, starts: range) -> None:
        """One group plan's schedules, one starting in each month of ``starts``; the
        premiums are drawn once and then rise at every renewal."""
        employee = self.rng.randint(*plan.employee_cents)
        percents = [(tier, self.rng.randint(low, high)) for tier, low, high in _TIER_PERCENTS]
        for start in starts:
            schedule_id = self._add_schedule(group_plan_id, start)
            self._add_tier_rates(schedule_id, employee, percents)
            employee = _scale(employee, 10_000 + self.rng.randint(200, 700), 10_000)

    def _add_schedule(self, group_plan_id: int, start: int) -> int:
        """A 12-month schedule from month ``start``; returns its id."""
        schedule_id = len(self.schedules) + 1
        self.schedules.append(
            {
                "id": schedule_id,
                "group_plan_id": group_plan_id,
                "effective_from": first_day(start),
                "effective_to": last_day(start + 11),
            }
        )
        return schedule_id

    def _add_tier_rates(
        self, schedule_id: int, employee: int, percents: list[tuple[CoverageTier, int]]
    ) -> None:
        """The EMPLOYEE premium, then each dependent tier's as its percentage of it."""
        premiums = [(CoverageTier.EMPLOYEE, employee)]
        premiums += [(tier, _scale(employee, percent, 100)) for tier, percent in percents]
        first_id = len(self.tier_rates) + 1
        self.tier_rates.extend(
            {
                "id": first_id + offset,
                "rate_schedule_id": schedule_id,
                "tier": tier,
                "monthly_premium_cents": cents,
            }
            for offset, (tier, cents) in enumerate(premiums)
        )
