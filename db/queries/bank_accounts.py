"""Bank accounts, scoped to the caller's groups with billing access (SPEC §3: a leader sees
a group's billing with `billing:read` and at least VIEW billing access). Only active
accounts are visible; a removed one is as if it never existed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import BankAccount, BankAccountStatus
from db.queries.scope import scoped


def _visible(principal: Principal) -> Select[BankAccount]:
    stmt = select(BankAccount).where(BankAccount.status == BankAccountStatus.ACTIVE)
    return scoped(stmt, principal, BankAccount.group_id, "billing")


async def bank_accounts_by_group(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int]
) -> dict[int, list[BankAccount]]:
    """Each group's active accounts, oldest first (at most ten a group)."""
    stmt = (
        _visible(principal)
        .where(BankAccount.group_id.in_(group_ids))
        .order_by(BankAccount.created_at, BankAccount.id)
    )
    accounts: dict[int, list[BankAccount]] = defaultdict(list)
    for account in await session.scalars(stmt):
        accounts[account.group_id].append(account)
    return accounts


async def bank_accounts_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, BankAccount]:
    stmt = _visible(principal).where(BankAccount.id.in_(ids))
    return {account.id: account for account in await session.scalars(stmt)}
