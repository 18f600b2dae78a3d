"""Column helpers shared by the models."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def checked_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR column with a CHECK constraint on the enum's values (portable)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every database. SQLite keeps no zone, so values are
    converted to UTC on the way in and marked UTC on the way out; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def created_at_column() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), server_default=func.now(), nullable=False)


def updated_at_column() -> Mapped[dt.datetime]:
    return mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now(), nullable=False
    )
