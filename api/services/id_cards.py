"""ID-card requests (SPEC §2 Members and coverage: ID cards).

A new subscriber gets a card request automatically; leaders and reps request replacements.
Requests move ``QUEUED → PRINTED → MAILED``, only forward, and are due
``id_card_business_days`` business days after the request date
(``api.services.business_days``); an unmailed request past its due date is a breach.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.business_days import add_business_days
from api.services.rules import Problem, refuse_if
from db.models.eligibility import IdCardRequest
from db.models.enums import IdCardReason, IdCardStatus

DEFAULT_BUSINESS_DAYS = 10
STATUS_ORDER = (IdCardStatus.QUEUED, IdCardStatus.PRINTED, IdCardStatus.MAILED)


def due_on(requested_at: dt.datetime, *, business_days: int = DEFAULT_BUSINESS_DAYS) -> dt.date:
    """The due date: ``business_days`` business days after the (UTC) request date."""
    return add_business_days(requested_at.astimezone(dt.UTC).date(), business_days)


def new_request(
    *,
    member_id: int,
    reason: IdCardReason,
    now: dt.datetime,
    user_id: int | None = None,
    business_days: int = DEFAULT_BUSINESS_DAYS,
) -> IdCardRequest:
    """A ``QUEUED`` request row (not yet added to a session)."""
    return IdCardRequest(
        member_id=member_id,
        reason=reason,
        status=IdCardStatus.QUEUED,
        requested_at=now,
        due_on=due_on(now, business_days=business_days),
        requested_by_user_id=user_id,
    )


async def request_new_enrollment_card(
    session: AsyncSession,
    *,
    member_id: int,
    now: dt.datetime,
    business_days: int = DEFAULT_BUSINESS_DAYS,
) -> None:
    """Queue the automatic card of a newly added subscriber (reason ``NEW_ENROLLMENT``).

    Adds the row to ``session`` and flushes; the caller commits with its own change.
    """
    reason = IdCardReason.NEW_ENROLLMENT
    session.add(
        new_request(member_id=member_id, reason=reason, now=now, business_days=business_days)
    )
    await session.flush()


def advance(request: IdCardRequest, *, status: IdCardStatus, now: dt.datetime) -> None:
    """Move ``request`` forward to ``status``, stamping printed/mailed times.

    Raises ``RuleViolation`` (``INVALID_TRANSITION``) for a move backwards or sideways.
    """
    current, target = STATUS_ORDER.index(request.status), STATUS_ORDER.index(status)
    refuse_if(
        []
        if target > current
        else [
            Problem(
                "INVALID_TRANSITION",
                f"The request is already {request.status.value}; status only moves forward "
                "(QUEUED → PRINTED → MAILED).",
                ("status",),
            )
        ]
    )
    if request.printed_at is None:
        request.printed_at = now
    request.status = status
    if status is IdCardStatus.MAILED:
        request.mailed_at = now


def is_breached(request: IdCardRequest, *, on: dt.date) -> bool:
    """Unmailed and past its due date on ``on``."""
    return request.status is not IdCardStatus.MAILED and request.due_on < on


async def request_replacements(
    session: AsyncSession,
    *,
    member_ids: list[int],
    reason: IdCardReason,
    now: dt.datetime,
    user_id: int | None,
    business_days: int = DEFAULT_BUSINESS_DAYS,
) -> list[IdCardRequest]:
    """Queue one card per member (a replacement, or any reason a leader or rep gives)."""
    rows = [
        new_request(
            member_id=member_id,
            reason=reason,
            now=now,
            user_id=user_id,
            business_days=business_days,
        )
        for member_id in member_ids
    ]
    session.add_all(rows)
    await session.flush()
    return rows
