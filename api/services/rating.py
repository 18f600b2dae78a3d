"""Rating: the monthly premium of a tier, the single place billing asks (SPEC §2 Billing:
"a subscriber is billed for month M at the tier and rate in force on the 1st of M").

The pure functions take what was already loaded; ``monthly_rate`` reads the schedule in
force itself. Amounts are integer cents (``api.services.money`` converts at the edges).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CoverageTier, RateSchedule, TierRate


class MissingTierRate(LookupError):
    """A schedule without a rate for the tier asked (every schedule has all four)."""


def billing_day(month: dt.date) -> dt.date:
    """The day whose rates apply to ``month``: its 1st (any day of the month may be given)."""
    return month.replace(day=1)


def covers(*, effective_from: dt.date, effective_to: dt.date, day: dt.date) -> bool:
    """Whether a schedule's period ``[effective_from, effective_to]`` includes ``day``."""
    return effective_from <= day <= effective_to


def rate_for(*, schedule_rates: Mapping[CoverageTier, int], tier: CoverageTier) -> int:
    """The monthly premium in cents of ``tier`` in a schedule's ``{tier: cents}``."""
    if tier not in schedule_rates:
        raise MissingTierRate(f"the schedule has no {tier} rate")
    return schedule_rates[tier]


async def monthly_rate(
    session: AsyncSession, *, group_plan_id: int, tier: CoverageTier, month: dt.date
) -> int | None:
    """Cents per month for ``tier`` of a group plan in ``month`` (the rate in force on the
    1st of the month); ``None`` when no schedule covers that day. Not scoped: callers
    check the caller may see the group first."""
    day = billing_day(month)
    stmt = (
        select(TierRate.monthly_premium_cents)
        .join(RateSchedule, RateSchedule.id == TierRate.rate_schedule_id)
        .where(
            RateSchedule.group_plan_id == group_plan_id,
            RateSchedule.effective_from <= day,
            RateSchedule.effective_to >= day,
            TierRate.tier == tier,
        )
    )
    return await session.scalar(stmt)
