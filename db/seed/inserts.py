"""Writing seeded rows: chunked bulk inserts, the emptiness check, sequence reset.

Why explicit ids: seeding only runs on a database without groups, so the generators
number every row themselves and foreign keys need no round trips. Rows go in table by
table with chunked executemany; PostgreSQL's id sequences are moved past them at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.base import Base
from db.models import Coverage, Group, GroupPlan, Member, Plan, RateSchedule, TierRate

CHUNK_ROWS = 5_000
"""Rows per executemany: big enough to amortise round trips, small enough for memory."""

Row = dict[str, Any]
"""One row to insert: column name to value."""

Progress = Callable[[str], None]
"""Told "<what> <done>/<total>" after each step, for the CLI to show progress."""

_SEEDED_MODELS: tuple[type[Base], ...] = (
    Plan,
    Group,
    GroupPlan,
    RateSchedule,
    TierRate,
    Member,
    Coverage,
)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def insert_rows(conn: AsyncConnection, model: type[Base], rows: Sequence[Row]) -> None:
    """Chunked executemany: one statement per ``CHUNK_ROWS`` rows, never one per row."""
    statement = insert(_table(model))
    for offset in range(0, len(rows), CHUNK_ROWS):
        await conn.execute(statement, rows[offset : offset + CHUNK_ROWS])


async def has_no_groups(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(Group.id).limit(1))).first() is None


async def reset_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL: explicit ids leave the id sequences behind; move each past its max id
    so later inserts without ids work (SQLite needs nothing: it uses max(rowid) + 1)."""
    for model in _SEEDED_MODELS:
        name = _table(model).name
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM {name}"
            )
        )
