"""The audit log search."""

from __future__ import annotations

import strawberry

from api.schema.audit import AuditEvent, AuditEventConnection, AuditEventFilter
from api.schema.connections import build_connection
from db.queries import audit as queries
from db.queries.paging import PageRequest


def _filter(flt: AuditEventFilter | None) -> queries.AuditFilter:
    if flt is None:
        return queries.AuditFilter()
    return queries.AuditFilter(
        action_prefix=flt.action_prefix,
        actor_user_id=flt.actor_user_id,
        actor_client_id=flt.actor_client_id,
        target_type=flt.target_type,
        target_id=flt.target_id,
        outcome=flt.outcome,
        since=flt.since,
        until=flt.until,
    )


async def audit_events(
    info: strawberry.Info, *, first: int, after: str | None, flt: AuditEventFilter | None
) -> AuditEventConnection:
    session = info.context.session
    page_request = PageRequest(first=first, after=after)
    query_filter = _filter(flt)
    page = await queries.audit_page(session, flt=query_filter, page=page_request)

    async def count() -> int:
        return await queries.count_audit(session, flt=query_filter)

    return build_connection(AuditEventConnection, page, AuditEvent.from_row, count)
