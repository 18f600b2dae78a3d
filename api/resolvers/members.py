"""The roster: a group's members, one keyset page at a time."""

from __future__ import annotations

import strawberry

from api.loaders import Loaders
from api.schema.connections import build_connection
from api.schema.members import Member, MemberConnection, MemberFilter
from db.queries import members as queries
from db.queries.paging import PageRequest


def _filter(flt: MemberFilter | None) -> queries.MemberFilter:
    """Hashable query arguments (loaders are keyed by them)."""
    if flt is None:
        return queries.MemberFilter()
    return queries.MemberFilter(
        search=flt.search,
        statuses=tuple(flt.status) if flt.status else None,
        relationships=tuple(flt.relationship) if flt.relationship else None,
    )


async def roster(
    info: strawberry.Info,
    *,
    group_id: int,
    first: int,
    after: str | None,
    flt: MemberFilter | None,
) -> MemberConnection:
    """A page of the group's members; ``totalCount`` is counted only when asked for.

    Through loaders, so a page of groups gets every group's members in one statement."""
    loaders: Loaders = info.context.loaders
    info.context.audit.record("member.read", target_type="Group", target_id=str(group_id))
    page_request = PageRequest(first=first, after=after)
    query_filter = _filter(flt)
    page = await loaders.member_pages(query_filter, page_request).load(group_id)

    async def count() -> int:
        return await loaders.member_counts(query_filter).load(group_id)

    return build_connection(MemberConnection, page, Member.from_row, count)
