"""The carrier's date and eligibility rules for change requests (SPEC §2 Members and
coverage), as pure functions returning ``Problem``s.

A problem whose code is in ``REVIEW_CODES`` sends the change to a rep (PENDING_REVIEW);
any other problem rejects it. A rep's approval waives exactly the review codes the change
was sent with, and every other rule runs again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from api.services.dates import is_first_of_month, is_last_of_month, last_of_month
from api.services.eligibility.changes import (
    EVENT_DATED,
    QUALIFYING_EVENTS,
    AddDependent,
    Change,
    ChangeReason,
    Terminate,
    UpdateMember,
)
from api.services.rules import Problem
from api.settings import Settings
from db.models import ChangeStatus, Relationship

RETRO_LIMIT_EXCEEDED = "RETRO_LIMIT_EXCEEDED"
DUPLICATE_SUSPECTED = "DUPLICATE_SUSPECTED"
REVIEW_CODES = frozenset({RETRO_LIMIT_EXCEEDED, DUPLICATE_SUSPECTED})


@dataclass(frozen=True, slots=True)
class Limits:
    """The configurable numbers of SPEC §2 (defaults 30/60/90/30/26, and 10 business days
    for an ID card)."""

    retro_add_days: int = 30
    retro_terminate_days: int = 60
    future_days: int = 90
    qle_window_days: int = 30
    dependent_age_limit: int = 26
    id_card_business_days: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            retro_add_days=settings.retro_add_days,
            retro_terminate_days=settings.retro_terminate_days,
            future_days=settings.future_days,
            qle_window_days=settings.qle_window_days,
            dependent_age_limit=settings.dependent_age_limit,
            id_card_business_days=settings.id_card_business_days,
        )


def status_for(problems: list[Problem]) -> ChangeStatus:
    """REJECTED when any problem is not reviewable; PENDING_REVIEW when some are; else
    APPLIED."""
    if any(problem.code not in REVIEW_CODES for problem in problems):
        return ChangeStatus.REJECTED
    return ChangeStatus.PENDING_REVIEW if problems else ChangeStatus.APPLIED


def date_problems(
    change: Change, *, group_effective: dt.date, today: dt.date, limits: Limits
) -> list[Problem]:
    """Alignment, group start, retro and future limits, and a QLE's event date."""
    problems = _alignment(change)
    if not isinstance(change, UpdateMember) and change.effective_date < group_effective:
        problems.append(_problem("BEFORE_GROUP_EFFECTIVE_DATE", _BEFORE_GROUP, group_effective))
    problems += _retro_and_future(change, today=today, limits=limits)
    if change.reason in QUALIFYING_EVENTS and change.event_date is None:
        problems.append(_problem("EVENT_DATE_REQUIRED", _EVENT_DATE_REQUIRED, field="eventDate"))
    return problems


def _alignment(change: Change) -> list[Problem]:
    if isinstance(change, UpdateMember):
        return []
    day = change.effective_date
    if isinstance(change, Terminate):
        if change.reason is ChangeReason.DEATH or is_last_of_month(day):
            return []
        return [_problem("TERMINATION_NOT_END_OF_MONTH", _NOT_LAST)]
    if isinstance(change, AddDependent) and change.reason in EVENT_DATED:
        if change.event_date in (None, day):
            return []
        return [_problem("EFFECTIVE_DATE_NOT_EVENT_DATE", _NOT_EVENT_DATE)]
    return [] if is_first_of_month(day) else [_problem("EFFECTIVE_DATE_NOT_FIRST", _NOT_FIRST)]


def _retro_and_future(change: Change, *, today: dt.date, limits: Limits) -> list[Problem]:
    terminating = isinstance(change, Terminate)
    retro_limit = limits.retro_terminate_days if terminating else limits.retro_add_days
    days_back = (today - change.effective_date).days
    if days_back > retro_limit:
        message = _RETRO.format(days=retro_limit)
        return [Problem(RETRO_LIMIT_EXCEEDED, message, ("effectiveDate",))]
    if -days_back > limits.future_days:
        message = _FUTURE.format(days=limits.future_days)
        return [Problem("TOO_FAR_IN_FUTURE", message, ("effectiveDate",))]
    return []


def enrollment_problems(
    change: AddDependent, *, subscriber_start: dt.date | None, today: dt.date, limits: Limits
) -> list[Problem]:
    """A dependent joins at enrollment, at open enrollment or within the QLE window."""
    if change.reason is ChangeReason.OPEN_ENROLLMENT:
        return []
    if change.reason is ChangeReason.NEW_HIRE and change.effective_date == subscriber_start:
        return []
    if change.reason not in QUALIFYING_EVENTS:
        return [_problem("NOT_AN_ENROLLMENT_EVENT", _NOT_ENROLLMENT, field="reason")]
    if change.event_date is None:
        return []  # date_problems already asks for it
    if (today - change.event_date).days > limits.qle_window_days:
        message = _QLE_WINDOW.format(days=limits.qle_window_days)
        return [Problem("QLE_WINDOW_EXPIRED", message, ("eventDate",))]
    return []


def age_limit_end(date_of_birth: dt.date, limits: Limits) -> dt.date:
    """The last day a child is eligible: the end of the month they turn the age limit."""
    year = date_of_birth.year + limits.dependent_age_limit
    # Born on 29 February: the birthday falls in February of any year.
    birthday = dt.date(year, date_of_birth.month, min(date_of_birth.day, 28))
    return last_of_month(birthday)


def age_problems(
    *, relationship: Relationship, date_of_birth: dt.date, effective: dt.date, limits: Limits
) -> list[Problem]:
    """A child must not be past the age limit on the effective date."""
    if relationship is not Relationship.CHILD:
        return []
    if effective <= age_limit_end(date_of_birth, limits):
        return []
    message = _AGE.format(age=limits.dependent_age_limit)
    return [Problem("CHILD_OVER_AGE_LIMIT", message, ("person", "dateOfBirth"))]


def _problem(
    code: str, message: str, after: dt.date | None = None, *, field: str = "effectiveDate"
) -> Problem:
    text = message.format(date=after.isoformat()) if after else message
    return Problem(code, text, (field,))


_BEFORE_GROUP = "The date is before the group's coverage starts ({date}); use {date} or later."
_EVENT_DATE_REQUIRED = "This reason is a qualifying life event: give its `eventDate`."
_NOT_LAST = "Coverage ends on the last day of a month (a death on the date of death)."
_NOT_EVENT_DATE = "A birth or adoption is covered from the event date: make them equal."
_NOT_FIRST = "Coverage changes take effect on the 1st of a month: use a 1st."
_RETRO = (
    "The date is more than {days} days in the past, so a representative must approve it; "
    "the change waits for review."
)
_FUTURE = "The date is more than {days} days ahead: submit the change again closer to it."
_NOT_ENROLLMENT = (
    "A dependent joins at the subscriber's enrollment, at open enrollment or after a "
    "qualifying life event (marriage, birth, adoption, loss of other coverage)."
)
_QLE_WINDOW = (
    "The qualifying life event was more than {days} days ago: add the dependent at the "
    "next open enrollment."
)
_AGE = "A child is eligible until the end of the month they turn {age}; this one is past it."
