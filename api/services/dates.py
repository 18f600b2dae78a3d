"""Calendar rules in one place: coverage and billing run by whole months (SPEC §2)."""

from __future__ import annotations

import calendar
import datetime as dt


def is_first_of_month(day: dt.date) -> bool:
    return day.day == 1


def is_last_of_month(day: dt.date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def last_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def as_date(value: object) -> dt.date:
    """A date read back from SQL: SQLite returns ``min``/``max`` of a date column, and a
    date literal of a derived table, as ISO text; PostgreSQL returns a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def utc_now() -> dt.datetime:
    """The current instant, timezone-aware UTC: every timestamp the service writes."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return utc_now().date()
