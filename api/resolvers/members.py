"""The roster: a group's members, one keyset page at a time, searched, filtered and sorted."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from api.loaders import Loaders
from api.schema.connections import build_connection
from api.schema.members import (
    Member,
    MemberConnection,
    MemberFilter,
    MemberOrder,
    MemberSortField,
    SortDirection,
)
from api.services.dates import today
from db.queries import members as queries
from db.queries.paging import MAX_PAGE_SIZE, PageRequest, PageRequestError

T = TypeVar("T")


def _filter(flt: MemberFilter | None, *, ssn_search: bool) -> queries.MemberFilter:
    """Hashable query arguments (loaders are keyed by them). Plan and tier filters look at
    the span in force on ``coveredOn``, today when not given."""
    if flt is None:
        return queries.MemberFilter(ssn_search=ssn_search)
    if flt.plan_code and len(flt.plan_code) > MAX_PAGE_SIZE:
        raise PageRequestError(f"Give at most {MAX_PAGE_SIZE} plan codes.")
    needs_day = bool(flt.plan_code or flt.tier)
    return queries.MemberFilter(
        search=flt.search,
        statuses=_tuple(flt.status),
        relationships=_tuple(flt.relationship),
        plan_codes=_tuple([code.strip().upper() for code in flt.plan_code or []]),
        tiers=_tuple(flt.tier),
        covered_on=flt.covered_on or (today() if needs_day else None),
        ssn_search=ssn_search,
    )


def _tuple(values: list[T] | None) -> tuple[T, ...] | None:
    return tuple(values) if values else None


_SORTS = {
    MemberSortField.NAME: queries.MemberSort.NAME,
    MemberSortField.MEMBER_ID: queries.MemberSort.MEMBER_ID,
    MemberSortField.DATE_OF_BIRTH: queries.MemberSort.DATE_OF_BIRTH,
}


def _order(order: MemberOrder | None) -> queries.MemberOrder:
    if order is None:
        return queries.MemberOrder()
    return queries.MemberOrder(
        sort=_SORTS[order.field], descending=order.direction is SortDirection.DESC
    )


async def roster(
    info: strawberry.Info,
    *,
    group_id: int,
    first: int,
    after: str | None,
    flt: MemberFilter | None,
    order: MemberOrder | None = None,
) -> MemberConnection:
    """A page of the group's members; ``totalCount`` is counted only when asked for.

    Through loaders, so a page of groups gets every group's members in one statement."""
    loaders: Loaders = info.context.loaders
    info.context.audit.record("member.read", target_type="Group", target_id=str(group_id))
    page_request = PageRequest(first=first, after=after)
    query_filter = _filter(flt, ssn_search=queries.ssn_searchable(info.context.principal))
    page = await loaders.member_pages(query_filter, page_request, _order(order)).load(group_id)

    async def count() -> int:
        return await loaders.member_counts(query_filter).load(group_id)

    return build_connection(MemberConnection, page, Member.from_row, count)
