"""Delinquency episodes and their transitions, scoped to the caller's groups with billing
access (filtered in SQL): a group's own benefit leaders see their account's standing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import DelinquencyEpisode, DelinquencyTransition
from db.queries.scope import scoped


async def episodes_by_group(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int]
) -> dict[int, list[DelinquencyEpisode]]:
    """Each group's episodes, newest first."""
    stmt = scoped(select(DelinquencyEpisode), principal, DelinquencyEpisode.group_id, "billing")
    stmt = stmt.where(DelinquencyEpisode.group_id.in_(group_ids))
    found: dict[int, list[DelinquencyEpisode]] = defaultdict(list)
    for episode in await session.scalars(stmt.order_by(DelinquencyEpisode.id.desc())):
        found[episode.group_id].append(episode)
    return found


async def transitions_by_episode(
    session: AsyncSession, principal: Principal, episode_ids: Sequence[int]
) -> dict[int, list[DelinquencyTransition]]:
    """Each episode's transitions, in the order they happened."""
    stmt = scoped(
        select(DelinquencyTransition), principal, DelinquencyTransition.group_id, "billing"
    )
    stmt = stmt.where(DelinquencyTransition.episode_id.in_(episode_ids))
    found: dict[int, list[DelinquencyTransition]] = defaultdict(list)
    for transition in await session.scalars(stmt.order_by(DelinquencyTransition.id)):
        found[transition.episode_id].append(transition)
    return found
