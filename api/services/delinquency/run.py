"""The daily delinquency run as of a date over every group (SPEC §2 Delinquency: "A daily
run (as of a date) moves each group with a past-due balance through" the stages; "The
run is idempotent for a given date").

The groups to look at are found set-based (their standings, chunk by chunk); each of
those with money past due or an open episode is then assessed in its own transaction
under the group's lock, from its standing read again under that lock, so a payment
committed meanwhile is counted. A date run again finds every stage already recorded
and every letter already drafted: it changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import group_termination, ledger
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.bank_data import BankDataCipher
from api.services.dates import as_date, utc_now
from api.services.delinquency.episodes import ASSESSED_STATUSES, Assessor, Outcome, assess
from api.services.delinquency.non_payment import terminator
from api.services.delinquency.policy import thresholds_for
from api.services.delinquency.standing import standing_of, standings
from db.models import DelinquencyEpisode, EpisodeStatus, Group

CHUNK = 500


@dataclass(frozen=True, slots=True)
class RunContext:
    """Who runs, and what a termination's final invoice needs."""

    actor: Actor
    carrier: str
    cipher: BankDataCipher
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class GroupResult:
    group_id: int
    outcome: Outcome


GroupHook = Callable[[AsyncSession, GroupResult], Awaitable[None]]


async def groups_to_assess(session: AsyncSession, as_of: dt.date) -> list[int]:
    """Groups that may move: money past due on ``as_of``, or an open episode to cure.
    An episode already assessed on ``as_of`` (the date run again) is left: assessing it
    again would change nothing, and payments since were assessed as they came."""
    statuses = select(Group.id).where(Group.status.in_(ASSESSED_STATUSES)).order_by(Group.id)
    candidates = list(await session.scalars(statuses))
    episodes = select(DelinquencyEpisode.group_id, DelinquencyEpisode.assessed_on).where(
        DelinquencyEpisode.status == EpisodeStatus.OPEN
    )
    assessed = {pk: as_date(day) for pk, day in await session.execute(episodes)}
    done = {pk for pk, day in assessed.items() if day >= as_of}
    chosen: list[int] = []
    for start in range(0, len(candidates), CHUNK):
        found = await standings(session, candidates[start : start + CHUNK], as_of)
        chosen += [pk for pk, s in found.items() if (s.owes or pk in assessed) and pk not in done]
    return sorted(chosen)


async def run_groups(
    sessions: async_sessionmaker[AsyncSession],
    as_of: dt.date,
    group_ids: Sequence[int],
    context: RunContext,
    on_group: GroupHook | None = None,
) -> list[GroupResult]:
    results = []
    for group_id in group_ids:
        async with sessions.begin() as session:
            result = await assess_group(session, group_id, as_of, context)
            if on_group is not None:
                await on_group(session, result)
        results.append(result)
    return results


async def assess_group(
    session: AsyncSession, group_id: int, as_of: dt.date, context: RunContext
) -> GroupResult:
    """One group on ``as_of``, under its lock; the caller commits."""
    await ledger.lock_group(session, group_id)
    group = await session.get_one(Group, group_id, populate_existing=True)
    standing = await standing_of(session, group_id, as_of)
    thresholds = (await thresholds_for(session, [group_id], as_of))[group_id]
    audit = AuditTrail(context.actor, RequestOrigin(None, f"delinquency run {as_of}", None))
    outcome = await assess(session, group, standing, thresholds, _assessor(audit, context))
    await audit.flush(session)
    return GroupResult(group_id, outcome)


def _assessor(audit: AuditTrail, context: RunContext) -> Assessor:
    issuer = group_termination.Issuer(
        context.actor.user_id, audit, utc_now(), context.carrier, context.cipher
    )
    return Assessor(audit, context.actor.user_id, context.run_id, terminator(issuer))
