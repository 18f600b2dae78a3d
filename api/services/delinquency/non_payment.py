"""Termination for non-payment and reinstatement (SPEC §2 Delinquency; issue 8).

Termination goes through the group-termination path of billing
(``api.services.group_termination``): coverage ends on the paid-through date, the final
invoice credits the months billed past it, a credit left becomes a refund. That path
keeps a copy of every span it ends (``CoverageEnding``).

Reinstatement is a rep's decision, with a reason, for a group terminated for
non-payment, and only once nothing is past due: the spans the termination ended are put
back as they were, the members and the group are ACTIVE again, and the months the final
invoice credited are billed again by the next billing run as retro lines (coverage runs
without a gap, so its premium is owed).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.services import group_termination, ledger
from api.services.dates import utc_now
from api.services.delinquency.episodes import Assessor, Outcome, Step, Terminate, latest_episode
from api.services.delinquency.policy import DEFAULT
from api.services.delinquency.standing import standing_of
from api.services.money import format_usd
from api.services.rules import Problem, refuse_if
from db.models import (
    Coverage,
    CoverageEnding,
    CoverageTier,
    DelinquencyEpisode,
    EpisodeStatus,
    Group,
    GroupStatus,
    Member,
    Refund,
    RefundStatus,
)


def terminator(issuer: group_termination.Issuer) -> Terminate:
    """The ``Assessor.terminate`` of a run: the billing issue's group termination."""

    async def terminate(session: AsyncSession, group: Group, last_day: dt.date, why: str) -> None:
        await group_termination.terminate(
            session, group, last_day=last_day, reason=why, issuer=issuer
        )

    return terminate


async def reinstate(
    session: AsyncSession, group: Group, *, reason: str, on: dt.date, assessor: Assessor
) -> Outcome:
    """Reinstate ``group`` on ``on`` (today); refused with problems that say what to do."""
    await ledger.lock_group(session, group.id)
    await session.refresh(group)
    episode = await latest_episode(session, group.id)
    standing = await standing_of(session, group.id, on)
    problems = _problems(group, episode, reason.strip(), standing.open_past_due_cents)
    problems += await _refund_pending(session, group.id)
    refuse_if(problems)
    assert episode is not None
    assert group.termination_date is not None
    await _restore_coverage(session, group.id, group.termination_date)
    group.termination_date = None
    step = Step(session, group, standing, DEFAULT, assessor, Outcome())
    await step.reinstate(episode, f"Reinstated by a rep: {reason.strip()}")
    return step.outcome


def _problems(
    group: Group, episode: DelinquencyEpisode | None, reason: str, past_due_cents: int
) -> list[Problem]:
    terminated = episode is not None and episode.status is EpisodeStatus.TERMINATED
    if group.status is not GroupStatus.TERMINATED or not terminated:
        return [NOT_TERMINATED_FOR_NON_PAYMENT]
    problems = [] if reason else [REASON_REQUIRED]
    if past_due_cents > 0:
        message = (
            f"{format_usd(past_due_cents)} is still past due; record the payment that "
            "clears it, then reinstate."
        )
        problems.append(Problem("BALANCE_NOT_CLEARED", message))
    return problems


async def _refund_pending(session: AsyncSession, group_id: int) -> list[Problem]:
    stmt = select(Refund.id).where(
        Refund.group_id == group_id, Refund.status == RefundStatus.PENDING
    )
    if await session.scalar(stmt) is None:
        return []
    return [REFUND_PENDING]


async def _restore_coverage(session: AsyncSession, group_id: int, ended_on: dt.date) -> None:
    """Set-based: shortened spans get their end back, removed spans are inserted again,
    members that were active are active again; the copies are marked restored."""
    kept = (
        (CoverageEnding.group_id == group_id)
        & (CoverageEnding.ended_on == ended_on)
        & CoverageEnding.restored_at.is_(None)
    )
    previous = (
        select(CoverageEnding.previous_termination_date)
        .where(kept, CoverageEnding.coverage_id == Coverage.id)
        .scalar_subquery()
    )
    shortened = select(CoverageEnding.coverage_id).where(
        kept, CoverageEnding.coverage_id.is_not(None)
    )
    await session.execute(
        update(Coverage).where(Coverage.id.in_(shortened)).values(termination_date=previous)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.execute(insert(Coverage).from_select(_SPAN_COLUMNS, _removed_spans(kept)))
    active = select(CoverageEnding.member_id).where(kept, CoverageEnding.member_status == "ACTIVE")
    await session.execute(
        update(Member).where(Member.id.in_(active)).values(status="ACTIVE")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.execute(
        update(CoverageEnding).where(kept).values(restored_at=utc_now())
        .execution_options(synchronize_session=False)
    )  # fmt: skip


_SPAN_COLUMNS = ["member_id", "group_plan_id", "tier", "effective_date", "termination_date"]


def _removed_spans(
    kept: ColumnElement[bool],
) -> Select[int, int, CoverageTier, dt.date, dt.date | None]:
    return select(
        CoverageEnding.member_id,
        CoverageEnding.group_plan_id,
        CoverageEnding.tier,
        CoverageEnding.effective_date,
        CoverageEnding.previous_termination_date,
    ).where(kept, CoverageEnding.coverage_id.is_(None))


NOT_TERMINATED_FOR_NON_PAYMENT = Problem(
    "NOT_TERMINATED_FOR_NON_PAYMENT",
    "Only a group terminated for non-payment is reinstated here; this one is not.",
    ("groupId",),
)
REASON_REQUIRED = Problem("REASON_REQUIRED", "Say why the group is reinstated.", ("reason",))
REFUND_PENDING = Problem(
    "REFUND_PENDING",
    "A premium refund of the termination is pending; issue it or settle it with the group "
    "before reinstating.",
)
