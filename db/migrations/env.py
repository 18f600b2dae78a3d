"""Alembic environment (async): runs migrations against ``PORTAL_DATABASE_URL``
or the URL placed in the Alembic config by ``db.migrate``."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from api.settings import get_settings
from db import models  # noqa: F401  (registers every table on the metadata)
from db.base import Base
from db.models._types import UTCDateTime
from db.session import create_engine

target_metadata = Base.metadata


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our UTCDateTime as the plain column type it stores (migrations must not
    import application code that may change later)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _suspend_foreign_keys(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


def _suspend_foreign_keys(connection: Connection) -> None:
    """SQLite alters a table by copying it into a new one and dropping the old. With
    foreign keys enforced, that drop would cascade to the rows that reference the table
    (or be refused), so they are off while migrating, and checked before commit. The
    pragma is ignored inside a transaction, so it goes to the driver before the first
    BEGIN (this connection is used for the migrations only, then discarded)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
    finally:
        cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration leaves rows whose foreign keys are broken: {broken}")


async def _run_online() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
