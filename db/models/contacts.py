"""A group's contacts: benefit leader, billing contact, the carrier's sales representative."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._types import checked_enum, created_at_column
from db.models.enums import ContactKind


class GroupContact(Base):
    __tablename__ = "group_contacts"
    __table_args__ = (UniqueConstraint("group_id", "kind", "email_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ContactKind] = mapped_column(checked_enum(ContactKind, "contact_kind"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = created_at_column()
