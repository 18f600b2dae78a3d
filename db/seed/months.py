"""Month numbers: group periods, rate schedules and coverage are all whole months.

Why: the portal bills by the month, so every span starts on a 1st and ends on the last
day of a month. Counting months as ``year * 12 + month - 1`` makes consecutive months
consecutive integers, so periods are cut, compared and merged with plain arithmetic and
turned into dates only when a row is written.
"""

from __future__ import annotations

import datetime as dt
import functools

OPEN = 1 << 40
"""The month number of "no end yet", so open spans compare like any other month."""


def month_of(day: dt.date) -> int:
    """The month number of ``day``: consecutive months are consecutive integers."""
    return day.year * 12 + day.month - 1


# Cached: a seed touches a few hundred distinct months but writes a date per row.
@functools.cache
def first_day(month: int) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


@functools.cache
def last_day(month: int) -> dt.date:
    return first_day(month + 1) - dt.timedelta(days=1)
