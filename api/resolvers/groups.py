"""Root group fields: the groups list and look-up by group number."""

from __future__ import annotations

import strawberry

from api.schema.connections import build_connection
from api.schema.groups import Group, GroupConnection, GroupFilter
from db.queries import groups as queries
from db.queries.paging import PageRequest


def _filter(flt: GroupFilter | None) -> queries.GroupFilter:
    if flt is None:
        return queries.GroupFilter()
    return queries.GroupFilter(
        search=flt.search, statuses=flt.status, billing_modes=flt.billing_mode
    )


async def groups(
    info: strawberry.Info, *, first: int, after: str | None, flt: GroupFilter | None
) -> GroupConnection:
    ctx = info.context
    page_request = PageRequest(first=first, after=after)
    query_filter = _filter(flt)
    page = await queries.groups_page(
        ctx.session, ctx.principal, flt=query_filter, page=page_request
    )

    async def count() -> int:
        return await queries.count_groups(ctx.session, ctx.principal, flt=query_filter)

    return build_connection(GroupConnection, page, Group.from_row, count)


async def group_by_number(info: strawberry.Info, group_number: str) -> Group | None:
    ctx = info.context
    row = await queries.group_by_number(ctx.session, ctx.principal, group_number)
    return None if row is None else Group.from_row(row)
