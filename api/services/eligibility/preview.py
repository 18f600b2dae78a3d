"""Previewing eligibility changes (SPEC §2: "validated and applied to a copy in a
rolled-back transaction ... without saving anything").

The changes run through ``engine.process`` (the very rules and writes of a submission)
inside a SAVEPOINT that is always rolled back: members, coverage rows and the automatic
ID-card request of a new subscriber all live in the session and go with it. No batch or
item is stored, and the engine records no audit event (the caller records only
``eligibility.preview``). What the preview returns is read inside the savepoint as plain
data, before the rollback expunges the new rows and expires the changed ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from api.services.eligibility.changes import Change
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import MAX_CHANGES, TOO_MANY_CHANGES, process
from api.services.eligibility.premium_effect import (
    BillingState,
    Month,
    PremiumLine,
    billing_state,
    months_between,
    next_invoice_month,
    premium_lines,
)
from api.services.rules import Problem, RuleViolation
from db.models import (
    ChangeStatus,
    Coverage,
    CoverageTier,
    GroupPlan,
    Member,
    MemberStatus,
    Plan,
    Relationship,
)


@dataclass(frozen=True, slots=True)
class SpanView:
    """A coverage row as it would be: the member's (would-be) carrier ID and the plan."""

    member_id: str
    relationship: Relationship
    plan_code: str
    tier: CoverageTier
    start: dt.date
    end: dt.date | None


@dataclass(frozen=True, slots=True)
class PreviewItem:
    """What would become of one change; ``subscriber_pk`` is set only when it would apply."""

    position: int
    change: Change
    status: ChangeStatus
    problems: list[Problem]
    member_id: str | None
    subscriber_pk: int | None
    spans: list[SpanView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Preview:
    """Every item's outcome and the premium effect per subscriber and month."""

    items: list[PreviewItem]
    next_invoice_month: Month
    lines: list[PremiumLine]
    subscriber_ids: dict[int, str]

    def lines_of(self, subscriber_pk: int | None) -> list[PremiumLine]:
        return [line for line in self.lines if line.subscriber_pk == subscriber_pk]


@dataclass(slots=True)
class _After:
    items: list[PreviewItem]
    state: BillingState
    subscriber_ids: dict[int, str]


async def preview(ctx: ItemContext, changes: list[Change]) -> Preview:
    """The outcome of submitting ``changes`` now, with nothing saved."""
    if not 1 <= len(changes) <= MAX_CHANGES:
        raise RuleViolation([TOO_MANY_CHANGES])
    months = _months(ctx, changes)
    before = await billing_state(ctx.session, await _known_subscribers(ctx, changes), months)
    async with ctx.session.begin_nested() as savepoint:
        try:
            after = await _apply(ctx, changes, months)
        finally:
            await savepoint.rollback()
    affected = [item.subscriber_pk for item in after.items if item.subscriber_pk is not None]
    lines = await premium_lines(
        ctx.session, subscriber_pks=affected, before=before, after=after.state, months=months
    )
    return Preview(after.items, months[-1], lines, after.subscriber_ids)


def _months(ctx: ItemContext, changes: list[Change]) -> list[Month]:
    """The retro months a change may reach (never before the longest retro limit) and the
    next invoice month."""
    limit = max(ctx.limits.retro_add_days, ctx.limits.retro_terminate_days)
    earliest = max(min(c.effective_date for c in changes), ctx.today - dt.timedelta(days=limit))
    last = next_invoice_month(ctx.today)
    return months_between(min(earliest, last), last)


async def _known_subscribers(ctx: ItemContext, changes: list[Change]) -> list[int]:
    """The existing families the changes name (new subscribers have no "before")."""
    named = [
        getattr(c, "member_id", None) or getattr(c, "subscriber_member_id", None) for c in changes
    ]
    ids = sorted({member_id for member_id in named if member_id})
    stmt = select(Member.subscriber_id, Member.id).where(
        Member.group_id == ctx.group.id,
        Member.member_id.in_(ids),
        Member.status != MemberStatus.MERGED,
    )
    return [subscriber or pk for subscriber, pk in await ctx.session.execute(stmt)]


async def _apply(ctx: ItemContext, changes: list[Change], months: list[Month]) -> _After:
    """Inside the savepoint: run the changes and read back everything the preview shows."""
    results = await process(ctx, changes)
    subscribers = {o.subscriber_pk for _, o in results if o.subscriber_pk is not None}
    spans = await _family_spans(ctx, subscribers)
    members = [o.member_pk for _, o in results if o.member_pk is not None]
    ids = await _member_ids(ctx, [*members, *subscribers])
    items = [
        PreviewItem(
            position,
            change,
            outcome.status,
            outcome.problems,
            ids.get(outcome.member_pk) if outcome.member_pk else None,
            outcome.subscriber_pk,
            spans.get(outcome.subscriber_pk, []) if outcome.subscriber_pk else [],
        )
        for position, (change, outcome) in enumerate(results)
    ]
    state = await billing_state(ctx.session, subscribers, months)
    return _After(items, state, {pk: ids[pk] for pk in subscribers})


async def _member_ids(ctx: ItemContext, pks: Iterable[int]) -> dict[int, str]:
    stmt = select(Member.id, Member.member_id).where(Member.id.in_(set(pks)))
    return {row.id: row.member_id for row in await ctx.session.execute(stmt)}


async def _family_spans(ctx: ItemContext, subscribers: set[int]) -> dict[int, list[SpanView]]:
    """Every coverage row of the families of ``subscribers``, by member ID and start."""
    if not subscribers:
        return {}
    family = or_(Member.id.in_(subscribers), Member.subscriber_id.in_(subscribers))
    stmt = (
        select(Member.id, Member.subscriber_id, Member.member_id, Member.relationship)
        .add_columns(Plan.code, Coverage.tier, Coverage.effective_date, Coverage.termination_date)
        .join(Coverage, Coverage.member_id == Member.id)
        .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(family)
        .order_by(Member.member_id, Coverage.effective_date)
    )
    spans: dict[int, list[SpanView]] = {}
    for pk, subscriber, *view in await ctx.session.execute(stmt):
        spans.setdefault(subscriber or pk, []).append(SpanView(*view))
    return spans
