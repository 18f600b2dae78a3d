"""Per-request DataLoaders: related rows for a whole page in one statement each.

Each loader batches the keys requested while a level of the query resolves and returns
results in key order (a missing key gets an empty list or ``None``), so the number of
statements per request never grows with the page size. Nested lists with arguments (a
page of each group's members) get one loader per distinct set of arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.auth.principal import Principal
from db.models import Group, Member, Plan
from db.queries import groups as group_queries
from db.queries import members as member_queries
from db.queries.members import CoverageRow, MemberFilter
from db.queries.paging import Page, PageRequest

V = TypeVar("V")

Fetch = Callable[[Sequence[int]], Awaitable[Mapping[int, V]]]


def _loader(fetch: Fetch[V], missing: Callable[[], V]) -> DataLoader[int, V]:
    async def load(keys: list[int]) -> list[V]:
        found = await fetch(keys)
        return [found[key] if key in found else missing() for key in keys]

    return DataLoader(load_fn=load)


@dataclass(slots=True)
class Loaders:
    """The request's loaders; create with ``Loaders.create`` in ``get_context``."""

    session: AsyncSession
    principal: Principal
    group: DataLoader[int, Group | None] = field(init=False)
    member: DataLoader[int, Member | None] = field(init=False)
    plan: DataLoader[int, Plan | None] = field(init=False)
    dependents: DataLoader[int, list[Member]] = field(init=False)
    coverages: DataLoader[int, list[CoverageRow]] = field(init=False)
    offered_plans: DataLoader[int, list[Plan]] = field(init=False)
    _with_arguments: dict[Hashable, DataLoader[int, Any]] = field(init=False, default_factory=dict)

    @classmethod
    def create(cls, session: AsyncSession, principal: Principal) -> Loaders:
        loaders = cls(session=session, principal=principal)
        loaders.group = loaders._one(group_queries.groups_by_ids)
        loaders.member = loaders._one(member_queries.members_by_ids)
        loaders.plan = loaders._one(group_queries.plans_by_ids)
        loaders.dependents = loaders._many(member_queries.dependents_by_subscriber)
        loaders.coverages = loaders._many(member_queries.coverages_by_member)
        loaders.offered_plans = loaders._many(group_queries.plans_by_group)
        return loaders

    def _one(
        self, query: Callable[[AsyncSession, Principal, Sequence[int]], Awaitable[Mapping[int, V]]]
    ) -> DataLoader[int, V | None]:
        return _loader(lambda keys: query(self.session, self.principal, keys), lambda: None)

    def _many(
        self,
        query: Callable[[AsyncSession, Principal, Sequence[int]], Awaitable[Mapping[int, list[V]]]],
    ) -> DataLoader[int, list[V]]:
        return _loader(lambda keys: query(self.session, self.principal, keys), list)

    def member_pages(self, flt: MemberFilter, page: PageRequest) -> DataLoader[int, Page[Member]]:
        """Group id -> that group's page of members, for these arguments."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[Member]]]:
            return member_queries.members_pages(
                self.session, self.principal, group_ids=keys, flt=flt, page=page
            )

        return self._keyed(("member_pages", flt, page), fetch, lambda: Page.empty(page))

    def member_counts(self, flt: MemberFilter) -> DataLoader[int, int]:
        """Group id -> how many of its members match ``flt``."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return member_queries.count_members(
                self.session, self.principal, group_ids=keys, flt=flt
            )

        return self._keyed(("member_counts", flt), fetch, lambda: 0)

    def _keyed(
        self, key: Hashable, fetch: Fetch[V], missing: Callable[[], V]
    ) -> DataLoader[int, V]:
        if key not in self._with_arguments:
            self._with_arguments[key] = _loader(fetch, missing)
        loader: DataLoader[int, V] = self._with_arguments[key]
        return loader
