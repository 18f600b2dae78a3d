"""What a group owes past due on a day, and since when: the numbers every delinquency
decision is made from. Four statements whatever the number of groups (``balances``'
three and the oldest past-due due date).

Past due counts what the account owes overall: a group whose credit adjustments or final
credits leave it owing less than its open invoices show (group-level credits never meet
invoices, ``api.services.balances``) is past due only by what it owes in all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.balances import Balance, balances
from api.services.dates import as_date
from api.services.open_items import invoice_amounts


@dataclass(frozen=True, slots=True)
class Standing:
    """``past_due_cents``: owed and past due; ``open_past_due_cents``: open on invoices
    due before the day, whatever credits stand against it; ``oldest_due_date``: the due
    date of the oldest invoice with money open and past due (day 1 is the day after)."""

    group_id: int
    as_of: dt.date
    past_due_cents: int
    open_past_due_cents: int
    balance_cents: int
    oldest_due_date: dt.date | None
    paid_through_date: dt.date | None

    @property
    def owes(self) -> bool:
        return self.past_due_cents > 0 and self.oldest_due_date is not None

    @property
    def days_past_due(self) -> int:
        if not self.owes or self.oldest_due_date is None:
            return 0
        return (self.as_of - self.oldest_due_date).days


async def standings(
    session: AsyncSession, group_ids: Collection[int], as_of: dt.date
) -> dict[int, Standing]:
    if not group_ids:
        return {}
    accounts = await balances(session, group_ids=group_ids, as_of=as_of)
    oldest = await _oldest_past_due(session, group_ids, as_of)
    return {pk: _standing(accounts[pk], as_of, oldest.get(pk)) for pk in group_ids}


async def standing_of(session: AsyncSession, group_id: int, as_of: dt.date) -> Standing:
    return (await standings(session, [group_id], as_of))[group_id]


def _standing(account: Balance, as_of: dt.date, oldest: dt.date | None) -> Standing:
    owed = min(account.past_due, max(account.total, 0))
    return Standing(
        group_id=account.group_id,
        as_of=as_of,
        past_due_cents=owed,
        open_past_due_cents=account.past_due,
        balance_cents=account.total,
        oldest_due_date=oldest if owed > 0 else None,
        paid_through_date=account.paid_through_date,
    )


async def _oldest_past_due(
    session: AsyncSession, group_ids: Collection[int], as_of: dt.date
) -> dict[int, dt.date]:
    amounts = invoice_amounts(group_ids)
    stmt = (
        select(amounts.c.group_id, func.min(amounts.c.due_date))
        .where(amounts.c.open_cents > 0, amounts.c.due_date < as_of)
        .group_by(amounts.c.group_id)
    )
    return {int(pk): as_date(day) for pk, day in await session.execute(stmt)}
