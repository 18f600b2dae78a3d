"""Audit log search for reps and admins (newest first)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent, AuditOutcome
from db.queries.paging import Keyset, Page, PageRequest, fetch_page

NEWEST_FIRST = Keyset(
    entity=AuditEvent,
    columns=(AuditEvent.id,),
    key_of=lambda event: [event.id],
    descending=True,
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action_prefix: str | None = None
    actor_user_id: int | None = None
    actor_client_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: AuditOutcome | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(flt: AuditFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if flt.action_prefix:
        stmt = stmt.where(AuditEvent.action.startswith(flt.action_prefix, autoescape=True))
    for column, value in (
        (AuditEvent.actor_user_id, flt.actor_user_id),
        (AuditEvent.actor_client_id, flt.actor_client_id),
        (AuditEvent.target_type, flt.target_type),
        (AuditEvent.target_id, flt.target_id),
        (AuditEvent.outcome, flt.outcome),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.since is not None:
        stmt = stmt.where(AuditEvent.at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEvent.at < flt.until)
    return stmt


async def audit_page(
    session: AsyncSession, *, flt: AuditFilter, page: PageRequest
) -> Page[AuditEvent]:
    return await fetch_page(session, _filtered(flt), NEWEST_FIRST, page)


async def count_audit(session: AsyncSession, *, flt: AuditFilter) -> int:
    return (await session.scalar(select(func.count()).select_from(_filtered(flt).subquery()))) or 0


async def audit_events_by_ids(session: AsyncSession, ids: list[int]) -> dict[int, AuditEvent]:
    rows = await session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))
    return {event.id: event for event in rows}
