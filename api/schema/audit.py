"""The audit log as reps and admins search it (needs `audit:read`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Self

import strawberry
from strawberry import relay

from api.auth.policy import AUDIT_READ
from api.schema.connections import CountedConnection
from db import models
from db.models import AuditOutcome
from db.queries.audit import audit_events_by_ids

strawberry.enum(AuditOutcome, description="Whether the action was allowed or denied.")


@strawberry.type(description="One recorded action. PHI values are never recorded.")
class AuditEvent(relay.Node):
    pk: relay.NodeID[int]
    at: dt.datetime = strawberry.field(description="When it happened (UTC).")
    actor_user_id: int | None = strawberry.field(description="The acting portal user, if any.")
    actor_client_id: str | None = strawberry.field(description="The OAuth client used.")
    action: str = strawberry.field(description="What was done, e.g. `member.read`.")
    outcome: AuditOutcome = strawberry.field(description="Allowed, or denied by permissions.")
    target_type: str | None = strawberry.field(description="Kind of object acted on.")
    target_id: str | None = strawberry.field(description="Business key of that object.")
    changes: str | None = strawberry.field(
        description="Changed fields as JSON, with PHI values redacted."
    )
    ip: str | None = strawberry.field(description="Caller's IP address.")
    user_agent: str | None = strawberry.field(description="Caller's user agent.")
    request_id: str | None = strawberry.field(description="Correlation id of the request.")

    @classmethod
    def from_row(cls, row: models.AuditEvent) -> Self:
        return cls(
            pk=row.id,
            at=row.at,
            actor_user_id=row.actor_user_id,
            actor_client_id=row.actor_client_id,
            action=row.action,
            outcome=row.outcome,
            target_type=row.target_type,
            target_id=row.target_id,
            changes=row.changes,
            ip=row.ip,
            user_agent=row.user_agent,
            request_id=row.request_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Only for callers with `audit:read`; null for everyone else."""
        ids = [int(i) if i.isdigit() else -1 for i in node_ids]
        if not info.context.principal.has_scope(AUDIT_READ):
            return [None for _ in ids]
        found = await audit_events_by_ids(info.context.session, ids)
        return [cls.from_row(found[i]) if i in found else None for i in ids]


@strawberry.input(description="Narrow the audit log; all conditions must hold.")
class AuditEventFilter:
    action_prefix: str | None = strawberry.field(default=None, description="E.g. `member.`.")
    actor_user_id: int | None = strawberry.field(default=None, description="Acting user.")
    actor_client_id: str | None = strawberry.field(default=None, description="OAuth client.")
    target_type: str | None = strawberry.field(default=None, description="Kind of object.")
    target_id: str | None = strawberry.field(default=None, description="Object key.")
    outcome: AuditOutcome | None = strawberry.field(default=None, description="Outcome.")
    since: dt.datetime | None = strawberry.field(default=None, description="At or after.")
    until: dt.datetime | None = strawberry.field(default=None, description="Before.")


@strawberry.type(description="A page of audit events, newest first.")
class AuditEventConnection(CountedConnection[AuditEvent]):
    pass
