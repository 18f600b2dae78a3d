"""The roster: a group's members, one keyset page at a time."""

from __future__ import annotations

import strawberry

from api.schema.connections import build_connection
from api.schema.members import Member, MemberConnection, MemberFilter
from db.queries import members as queries
from db.queries.paging import PageRequest


def _filter(flt: MemberFilter | None) -> queries.MemberFilter:
    if flt is None:
        return queries.MemberFilter()
    return queries.MemberFilter(
        search=flt.search, statuses=flt.status, relationships=flt.relationship
    )


async def roster(
    info: strawberry.Info, *, group_id: int, first: int, after: str | None, flt: MemberFilter | None
) -> MemberConnection:
    """A page of the group's members; ``totalCount`` is counted only when asked for."""
    ctx = info.context
    page_request = PageRequest(first=first, after=after)
    query_filter = _filter(flt)
    page = await queries.members_page(
        ctx.session, ctx.principal, group_id=group_id, flt=query_filter, page=page_request
    )

    async def count() -> int:
        return await queries.count_members(
            ctx.session, ctx.principal, group_id=group_id, flt=query_filter
        )

    return build_connection(MemberConnection, page, Member.from_row, count)
