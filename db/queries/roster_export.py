"""The roster export's rows: members with the coverage span in force on a day, streamed in
keyset batches by name (never the whole roster in memory)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.auth.principal import Principal
from db.models import Coverage, GroupPlan, Member, Plan
from db.queries.members import MemberFilter, in_force, roster_statement

EXPORT_BATCH = 500


@dataclass(frozen=True, slots=True)
class ExportRow:
    """A member, their subscriber's member ID, and the span in force (if any) with its plan."""

    member: Member
    subscriber_member_id: str | None
    coverage: Coverage | None
    plan_code: str | None


def _export_statement(
    principal: Principal, group_id: int, flt: MemberFilter, day: dt.date
) -> Select[Any]:
    subscriber = aliased(Member)
    span_join = and_(Coverage.member_id == Member.id, in_force(day))
    # Spans of one member never overlap, so the outer join keeps one row per member.
    return (
        roster_statement(principal, [group_id], flt)
        .add_columns(subscriber.member_id, Coverage, Plan.code)
        .outerjoin(subscriber, subscriber.id == Member.subscriber_id)
        .outerjoin(Coverage, span_join)
        .outerjoin(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .outerjoin(Plan, Plan.id == GroupPlan.plan_id)
    )


async def export_rows(
    session: AsyncSession,
    principal: Principal,
    *,
    group_id: int,
    flt: MemberFilter,
    day: dt.date,
    batch: int | None = None,
) -> AsyncIterator[Sequence[ExportRow]]:
    """Batches of the group's members by last name, first name, id (keyset, ``batch`` rows
    per statement, default ``EXPORT_BATCH``); each batch is released before the next."""
    batch = batch or EXPORT_BATCH
    stmt = _export_statement(principal, group_id, flt, day)
    order = (Member.last_name, Member.first_name, Member.id)
    after: tuple[str, str, int] | None = None
    while True:
        page = stmt if after is None else stmt.where(tuple_(*order) > tuple_(*after))
        result = await session.execute(page.order_by(*order).limit(batch))
        rows = [ExportRow(*row) for row in result.all()]
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        last = rows[-1].member
        after = (last.last_name, last.first_name, last.id)
        session.expunge_all()  # let the batch go: the identity map would keep every member
