"""Which eligibility change a retro line comes from (issue 7: "each line can explain
itself: ... the eligibility change that caused a retro line").

A retro line of subscriber S for month M is put down to the latest change applied to S's
family (S or a dependent) that takes effect by the end of M: the add, termination, plan
change or reinstatement that changed what M costs. One statement for any number of groups.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import last_of_month
from db.models import ChangeItem, ChangeStatus, Member


@dataclass(frozen=True, slots=True)
class Cause:
    change_item_id: int
    kind: str
    effective_date: dt.date

    def describe(self) -> str:
        return (
            f"eligibility change {self.change_item_id} "
            f"({self.kind.replace('_', ' ').lower()}, effective {self.effective_date.isoformat()})"
        )


async def applied_changes(
    session: AsyncSession, group_ids: Collection[int]
) -> dict[int, list[Cause]]:
    """Subscriber pk -> the changes applied to the family, oldest effective first."""
    family = func.coalesce(Member.subscriber_id, Member.id)
    stmt = (
        select(family, ChangeItem.id, ChangeItem.kind, ChangeItem.effective_date)
        .join(Member, Member.id == ChangeItem.member_id)
        .where(ChangeItem.group_id.in_(group_ids), ChangeItem.status == ChangeStatus.APPLIED)
        .where(ChangeItem.effective_date.is_not(None))
        .order_by(ChangeItem.effective_date, ChangeItem.id)
    )
    causes: dict[int, list[Cause]] = defaultdict(list)
    for subscriber, item_id, kind, effective in await session.execute(stmt):
        if effective is not None:  # the query keeps dated changes only
            causes[int(subscriber)].append(Cause(item_id, kind.value, effective))
    return causes


def cause_of(changes: list[Cause], month: dt.date) -> Cause | None:
    """The latest of ``changes`` in effect by the end of ``month``."""
    end = last_of_month(month)
    effective = [change for change in changes if change.effective_date <= end]
    return effective[-1] if effective else None
