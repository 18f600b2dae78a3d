"""Per-request DataLoaders: related rows for a whole page in one statement each.

Each loader batches the keys requested while a level of the query resolves and returns
results in key order (a missing key gets an empty list or ``None``), so the number of
statements per request never grows with the page size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.auth.principal import Principal
from db.models import Group, Member, Plan
from db.queries import groups as group_queries
from db.queries import members as member_queries
from db.queries.members import CoverageRow

K = TypeVar("K")
V = TypeVar("V")

Fetch = Callable[[AsyncSession, Principal, Sequence[int]], Awaitable[Mapping[int, V]]]


def _many(
    session: AsyncSession, principal: Principal, fetch: Fetch[list[V]]
) -> DataLoader[int, list[V]]:
    async def load(keys: list[int]) -> list[list[V]]:
        found = await fetch(session, principal, keys)
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def _one(session: AsyncSession, principal: Principal, fetch: Fetch[V]) -> DataLoader[int, V | None]:
    async def load(keys: list[int]) -> list[V | None]:
        found = await fetch(session, principal, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


@dataclass(frozen=True, slots=True)
class Loaders:
    group: DataLoader[int, Group | None]
    member: DataLoader[int, Member | None]
    dependents: DataLoader[int, list[Member]]
    coverages: DataLoader[int, list[CoverageRow]]
    offered_plans: DataLoader[int, list[Plan]]
    plan: DataLoader[int, Plan | None]

    @classmethod
    def create(cls, session: AsyncSession, principal: Principal) -> Loaders:
        return cls(
            group=_one(session, principal, group_queries.groups_by_ids),
            member=_one(session, principal, member_queries.members_by_ids),
            dependents=_many(session, principal, member_queries.dependents_by_subscriber),
            coverages=_many(session, principal, member_queries.coverages_by_member),
            offered_plans=_many(session, principal, group_queries.plans_by_group),
            plan=_one(session, principal, group_queries.plans_by_ids),
        )
