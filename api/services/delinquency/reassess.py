"""Delinquency at the moment money moves (issue 8: "Payments that clear the past-due
balance return DELINQUENT/SUSPENDED groups to ACTIVE immediately (not at the next run)").

Called by payments, payment returns, write-offs and adjustments, in their transaction and
under the group's lock. Only a group with a delinquency episode is looked at. The day is
the later of the money's own date and the episode's last assessment: a payment clears
what was past due when it was received, and a returned payment is judged on the
episode's clock, with its original dates. It never moves a group to a further stage.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.delinquency.episodes import (
    ASSESSED_STATUSES,
    Assessor,
    Outcome,
    assess,
    latest_episode,
)
from api.services.delinquency.policy import thresholds_for
from api.services.delinquency.standing import standing_of
from db.models import EpisodeStatus, Group

LIVE_EPISODES = (EpisodeStatus.OPEN, EpisodeStatus.CURED)


async def after_money(
    session: AsyncSession, group_id: int, *, on: dt.date, audit: AuditTrail, user_id: int | None
) -> Outcome:
    group = await session.get_one(Group, group_id)
    episode = await latest_episode(session, group_id)
    if group.status not in ASSESSED_STATUSES or episode is None:
        return Outcome()
    if episode.status not in LIVE_EPISODES:
        return Outcome()
    day = max(on, episode.assessed_on)
    standing = await standing_of(session, group_id, day)
    thresholds = (await thresholds_for(session, [group_id], day))[group_id]
    assessor = Assessor(audit, user_id)
    return await assess(session, group, standing, thresholds, assessor, advance=False)
