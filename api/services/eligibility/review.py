"""A representative's review of a change sent to PENDING_REVIEW (SPEC §2: "a change
beyond a retro limit goes to PENDING_REVIEW for a rep, who may approve it").

Approval re-runs every rule except the review codes the change was held for; if another
rule now fails, nothing is applied and the item stays pending (the rep may reject it).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.eligibility.changes import from_payload, problems_from_json
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import run_item
from api.services.eligibility.rules import REVIEW_CODES, Limits
from api.services.rules import Problem, RuleViolation
from db.models import ChangeItem, ChangeStatus, Group


async def pending_item(session: AsyncSession, item_id: int) -> ChangeItem:
    """The item, locked, when it waits for review."""
    stmt = select(ChangeItem).where(ChangeItem.id == item_id).with_for_update()
    item: ChangeItem | None = await session.scalar(stmt)
    if item is None or item.status is not ChangeStatus.PENDING_REVIEW:
        raise RuleViolation([NOT_PENDING])
    return item


async def approve(
    session: AsyncSession,
    item: ChangeItem,
    *,
    reviewer: int | None,
    note: str,
    now: dt.datetime,
    limits: Limits,
) -> ChangeItem:
    group = await session.get(Group, item.group_id)
    assert group is not None
    waived = frozenset(p.code for p in problems_from_json(item.problems)) & REVIEW_CODES
    ctx = ItemContext(session, group, now.date(), now, limits, waived)
    outcome = await run_item(ctx, from_payload(item.kind, item.payload))
    if outcome.status is not ChangeStatus.APPLIED:
        raise RuleViolation(outcome.problems)
    item.status, item.member_id, item.applied_at = ChangeStatus.APPLIED, outcome.member_pk, now
    _reviewed(item, reviewer, note, now)
    await session.flush()
    return item


async def reject(
    session: AsyncSession,
    item: ChangeItem,
    *,
    reviewer: int | None,
    message: str,
    now: dt.datetime,
) -> ChangeItem:
    item.status = ChangeStatus.REJECTED
    _reviewed(item, reviewer, message, now)
    await session.flush()
    return item


def _reviewed(item: ChangeItem, reviewer: int | None, note: str, now: dt.datetime) -> None:
    item.reviewed_by_user_id, item.reviewed_at, item.review_note = reviewer, now, note


NOT_PENDING = Problem(
    "NOT_PENDING",
    "No change with this ID is waiting for review (it may have been decided already).",
    ("id",),
)
