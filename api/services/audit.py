"""The audit log, in one place (SPEC §2 Audit): every mutation, every read of member PHI
and every denied attempt is recorded with who, what, when and from where.

Events are collected during a request (``AuditTrail``) and written by the GraphQL view
when the request ends, in the request's own transaction for mutations and reads alike.
``changes`` never carries PHI: values of PHI fields are replaced before anything is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.dates import utc_now
from db.models import AuditEvent, AuditOutcome

REDACTED = "[REDACTED]"
PHI_FIELDS = frozenset(
    {
        "ssn",
        "ssnLast4",
        "firstName",
        "lastName",
        "dateOfBirth",
        "sex",
        "address",
        "email",
        "phone",
        "password",
        "accountNumber",
        "routingNumber",
    }
)


def redact(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` with PHI and secret values replaced (nested mappings too); keys kept so the
    log still says *which* fields changed."""
    return {
        key: REDACTED
        if key in PHI_FIELDS
        else redact(value)
        if isinstance(value, Mapping)
        else value
        for key, value in changes.items()
    }


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    ip: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    client_id: str | None


@dataclass
class AuditTrail:
    """The events of one request, deduplicated (a roster read is one event, not one per row)."""

    actor: Actor
    origin: RequestOrigin
    events: dict[tuple[str, str | None, str | None, AuditOutcome], Mapping[str, Any] | None] = (
        field(default_factory=dict)
    )

    def record(
        self,
        action: str,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
        outcome: AuditOutcome = AuditOutcome.ALLOWED,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        self.events.setdefault((action, target_type, target_id, outcome), changes)

    async def flush(self, session: AsyncSession) -> None:
        """Insert the collected events (one statement) and forget them."""
        if not self.events:
            return
        now = utc_now()
        rows = [self._row(key, changes, now) for key, changes in self.events.items()]
        await session.execute(insert(AuditEvent), rows)
        self.events.clear()

    def _row(
        self,
        key: tuple[str, str | None, str | None, AuditOutcome],
        changes: Mapping[str, Any] | None,
        now: dt.datetime,
    ) -> dict[str, Any]:
        action, target_type, target_id, outcome = key
        return {
            "at": now,
            "actor_user_id": self.actor.user_id,
            "actor_client_id": self.actor.client_id,
            "action": action,
            "outcome": outcome,
            "target_type": target_type,
            "target_id": target_id,
            "changes": None if changes is None else orjson.dumps(redact(changes)).decode(),
            "ip": self.origin.ip,
            "user_agent": self.origin.user_agent,
            "request_id": self.origin.request_id,
        }
