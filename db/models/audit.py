"""The audit log (SPEC §2 Audit): append-only; no API updates or deletes it, and the
database refuses UPDATE and DELETE on it (triggers, see the identity migration)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import UTCDateTime, checked_enum
from db.models.enums import AuditOutcome


class AuditEvent(Base):
    """Who did what to which object, when and from where. ``changes`` is JSON with PHI
    already redacted by ``api.services.audit``."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_target", "target_type", "target_id"),
        Index("ix_audit_events_actor", "actor_user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_user_id: Mapped[int | None] = mapped_column()
    actor_client_id: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[AuditOutcome] = mapped_column(checked_enum(AuditOutcome, "audit_outcome"))
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(100))
    changes: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    request_id: Mapped[str | None] = mapped_column(String(64))
