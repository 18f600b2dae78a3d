"""Demo data: deterministic, and consistent with the coverage rules it illustrates."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.services.coverage import tier_for
from db.migrate import upgrade
from db.models import Coverage, Member
from db.seed import DatabaseNotEmptyError, seed
from db.session import create_engine
from tests.conftest import SEED_TODAY, SSN_KEY

TABLES = ("plans", "groups", "group_plans", "rate_schedules", "tier_rates", "members", "coverages")


async def _seed_and_dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    await seed(engine, groups=4, members=150, seed=11, ssn_hash_key=SSN_KEY, today=SEED_TODAY)
    dump = {}
    async with engine.connect() as conn:
        for table in TABLES:
            rows = await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            dump[table] = [
                tuple(v for k, v in row._mapping.items() if k not in {"created_at", "updated_at"})
                for row in rows
            ]
    await engine.dispose()
    return dump


def test_same_arguments_give_the_same_data(tmp_path: Path) -> None:
    urls = [f"sqlite+aiosqlite:///{tmp_path / name}" for name in ("a.db", "b.db")]
    dumps = []
    for url in urls:
        upgrade(url)
        dumps.append(asyncio.run(_seed_and_dump(url)))
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["groups"]) == 4


async def test_seed_refuses_a_database_with_groups(settings_url: str) -> None:
    engine = create_engine(settings_url)
    with pytest.raises(DatabaseNotEmptyError):
        await seed(engine, groups=1, members=5, ssn_hash_key=SSN_KEY)
    await engine.dispose()


@pytest.fixture
def settings_url(seeded_database: str) -> str:
    return seeded_database


async def _members_and_spans(
    connection: AsyncConnection,
) -> tuple[dict[int, Row[Any]], dict[int, list[Row[Any]]]]:
    """Members and their spans as plain rows (core, not ORM: the test reads columns)."""
    members = {m.id: m for m in (await connection.execute(select(Member))).all()}
    spans: dict[int, list[Row[Any]]] = {}
    for span in (
        await connection.execute(select(Coverage).order_by(Coverage.effective_date))
    ).all():
        spans.setdefault(span.member_id, []).append(span)
    return members, spans


def _end(span: Row[Any]) -> dt.date:
    end: dt.date = span.termination_date or dt.date.max
    return end


async def test_spans_never_overlap_and_dependents_stay_inside(connection: AsyncConnection) -> None:
    members, spans = await _members_and_spans(connection)
    for member_id, member_spans in spans.items():
        for earlier, later in itertools.pairwise(member_spans):
            assert _end(earlier) < later.effective_date
        subscriber_id = members[member_id].subscriber_id
        if subscriber_id is None:
            continue
        subscriber_spans = spans[subscriber_id]
        for span in member_spans:
            assert any(
                s.effective_date <= span.effective_date and _end(span) <= _end(s)
                for s in subscriber_spans
            ), f"member {member_id} is covered outside its subscriber's coverage"


async def test_each_span_tier_matches_the_covered_dependents(connection: AsyncConnection) -> None:
    members, spans = await _members_and_spans(connection)
    for subscriber in (m for m in members.values() if m.subscriber_id is None):
        dependents = [m for m in members.values() if m.subscriber_id == subscriber.id]
        for span in spans.get(subscriber.id, []):
            day = span.effective_date
            covered = {
                d.relationship
                for d in dependents
                if any(s.effective_date <= day <= _end(s) for s in spans.get(d.id, []))
            }
            assert span.tier == tier_for(covered_dependents=covered), (subscriber.member_id, day)
