"""Migrations and the constraints the database itself enforces."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.base import Base
from db.migrate import downgrade, upgrade
from db.models import Coverage, CoverageTier, Group, GroupPlan, Member, RateSchedule, TierRate
from db.session import create_engine

REFUSED = (IntegrityError, DBAPIError)


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)


async def test_migrated_tables_match_the_models(connection: AsyncConnection) -> None:
    tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(Base.metadata.tables) <= tables


async def _first(connection: AsyncConnection, model: type[Base]) -> int:
    pk = await connection.scalar(select(func.min(model.id)))  # type: ignore[attr-defined]
    assert pk is not None
    return int(pk)


async def _in_savepoint(connection: AsyncConnection, stmt: object) -> None:
    async with connection.begin_nested():
        await connection.execute(stmt)  # type: ignore[call-overload]


async def test_overlapping_rate_periods_are_refused(connection: AsyncConnection) -> None:
    schedule = (
        await connection.execute(select(RateSchedule).order_by(RateSchedule.id).limit(1))
    ).one()
    overlapping = insert(RateSchedule).values(
        group_plan_id=schedule.group_plan_id,
        effective_from=schedule.effective_from + dt.timedelta(days=31),
        effective_to=schedule.effective_to + dt.timedelta(days=31),
    )
    with pytest.raises(REFUSED):
        await _in_savepoint(connection, overlapping)


async def test_overlapping_coverage_spans_are_refused(connection: AsyncConnection) -> None:
    span = (await connection.execute(select(Coverage).order_by(Coverage.id).limit(1))).one()
    overlapping = insert(Coverage).values(
        member_id=span.member_id,
        group_plan_id=span.group_plan_id,
        tier=CoverageTier.EMPLOYEE,
        effective_date=span.effective_date,
        termination_date=None,
    )
    with pytest.raises(REFUSED):
        await _in_savepoint(connection, overlapping)


async def _new_subscriber(connection: AsyncConnection) -> int:
    """A copy of a seeded subscriber under a fresh member ID, without coverage."""
    row = (
        (await connection.execute(select(Member).where(Member.subscriber_id.is_(None)).limit(1)))
        .one()
        ._mapping
    )
    copy = {k: v for k, v in row.items() if k not in {"id", "created_at", "updated_at"}}
    copy.update(member_id="99999999900")
    created = await connection.execute(insert(Member).values(**copy).returning(Member.id))
    return int(created.scalar_one())


async def test_adjacent_coverage_spans_are_allowed(connection: AsyncConnection) -> None:
    member = await _new_subscriber(connection)
    group_plan = await _first(connection, GroupPlan)
    spans = [(dt.date(2025, 1, 1), dt.date(2025, 6, 30)), (dt.date(2025, 7, 1), None)]
    for start, end in spans:
        await connection.execute(
            insert(Coverage).values(
                member_id=member,
                group_plan_id=group_plan,
                tier=CoverageTier.EMPLOYEE,
                effective_date=start,
                termination_date=end,
            )
        )
    count = await connection.scalar(select(func.count()).where(Coverage.member_id == member))
    assert count == 2


async def test_duplicate_group_numbers_are_refused(connection: AsyncConnection) -> None:
    row = (await connection.execute(select(Group).limit(1))).one()._mapping
    copy = {k: v for k, v in row.items() if k not in {"id", "created_at", "updated_at"}}
    with pytest.raises(REFUSED):
        await _in_savepoint(connection, insert(Group).values(**copy))


async def test_a_dependent_needs_a_subscriber(connection: AsyncConnection) -> None:
    row = (
        (await connection.execute(select(Member).where(Member.subscriber_id.is_not(None)).limit(1)))
        .one()
        ._mapping
    )
    orphan = {k: v for k, v in row.items() if k not in {"id", "created_at", "updated_at"}}
    orphan.update(subscriber_id=None, member_id="99999999901")
    with pytest.raises(REFUSED):
        await _in_savepoint(connection, insert(Member).values(**orphan))


async def test_premiums_are_never_negative(connection: AsyncConnection) -> None:
    schedule = await _first(connection, RateSchedule)
    negative = insert(TierRate).values(
        rate_schedule_id=schedule, tier=CoverageTier.FAMILY, monthly_premium_cents=-1
    )
    with pytest.raises(REFUSED):
        await _in_savepoint(connection, negative)


def test_engine_factory_knows_both_databases() -> None:
    assert create_engine("sqlite+aiosqlite:///x.db").dialect.name == "sqlite"
    assert create_engine("postgresql+asyncpg://u@h/db").dialect.name == "postgresql"


def test_upgrading_a_database_with_data_keeps_every_row(tmp_path: Path) -> None:
    """SQLite alters a table by copying it: the copy must not cascade to, or be refused
    by, the rows that reference it (0008 alters groups and eligibility_files)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'data.db'}"
    upgrade(url, "0007")
    with contextlib.closing(sqlite3.connect(tmp_path / "data.db")) as db:
        db.execute(
            "INSERT INTO groups (id, group_number, name, address_line1, city, state, "
            "postal_code, status, billing_mode, effective_date) VALUES (1, 'G1', 'Acme', "
            "'1 Main', 'Dayton', 'OH', '45402', 'ACTIVE', 'LIST_BILL', '2026-01-01')"
        )
        db.execute(
            "INSERT INTO eligibility_files (id, group_id, format, source, file_name, "
            "content_hash, size_bytes, status, members_processed, applied_count, "
            "pending_count, rejected_count, problem_count, attempts) VALUES (1, 1, 'CSV', "
            "'PORTAL', 'a.csv', 'h', 3, 'COMPLETED', 0, 0, 0, 0, 0, 1)"
        )
        db.execute("INSERT INTO eligibility_file_contents (file_id, content) VALUES (1, x'616263')")
        db.commit()
    upgrade(url)
    with contextlib.closing(sqlite3.connect(tmp_path / "data.db")) as db:
        assert db.execute("SELECT content FROM eligibility_file_contents").fetchall() == [(b"abc",)]
        assert db.execute("SELECT status, full_file FROM eligibility_files").fetchall() == [
            ("COMPLETED", 0)
        ]
        assert db.execute("SELECT full_file_terminates_missing FROM groups").fetchall() == [(0,)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
