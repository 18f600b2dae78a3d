"""Business days: the one place that knows which days the carrier works (SPEC §2 ID cards).

A business day is Monday to Friday and not a US federal holiday (observed dates, as the
``holidays`` package publishes them).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=32)
def _federal_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("US", years=year).keys())


def is_business_day(day: dt.date) -> bool:
    """True on a weekday that is not a US federal holiday."""
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` business days after ``start`` (``start`` itself never counts)."""
    day, remaining = start, days
    while remaining > 0:
        day += ONE_DAY
        if is_business_day(day):
            remaining -= 1
    return day
