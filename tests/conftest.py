"""Shared fixtures: a migrated, seeded database (SQLite, or PostgreSQL when
``PORTAL_TEST_DATABASE_URL`` is set), and the real app over HTTP with each test inside a
transaction that is rolled back at the end (SQLAlchemy's "joining a session into an
external transaction" recipe)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from api.settings import Settings
from db.migrate import upgrade
from db.seed import seed
from db.session import create_engine, is_sqlite
from tests.helpers import StatementCounter

SEED_TODAY = dt.date(2026, 11, 15)
SEED_GROUPS = 6
SEED_MEMBERS = 300
SSN_KEY = "test-ssn-hash-key-0123456789abcdef"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if url:
        asyncio.run(_reset_postgres(url))
        return url
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


async def _reset_postgres(url: str) -> None:
    """A clean public schema: the test database is the suite's own."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
def seeded_database(database_url: str) -> str:
    """Migrated with Alembic (the real migrations) and seeded once for the session."""
    upgrade(database_url)

    async def fill() -> None:
        engine = create_engine(database_url)
        await seed(
            engine,
            groups=SEED_GROUPS,
            members=SEED_MEMBERS,
            seed=7,
            ssn_hash_key=SSN_KEY,
            today=SEED_TODAY,
        )
        await engine.dispose()

    asyncio.run(fill())
    return database_url


@pytest.fixture
def settings(seeded_database: str) -> Settings:
    return Settings(database_url=seeded_database, ssn_hash_key=SSN_KEY)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction every test rolls back."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions that join the test's transaction; their commits become SAVEPOINTs."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app over HTTP (httpx's ASGI transport)."""
    app = create_app(settings, sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    with StatementCounter(engine) as counter:
        yield counter


@pytest.fixture
def on_sqlite(settings: Settings) -> bool:
    return is_sqlite(settings.database_url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PORTAL_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set PORTAL_TEST_DATABASE_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)
