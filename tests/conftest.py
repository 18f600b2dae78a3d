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
from api.auth.access_tokens import TokenIssuer
from api.auth.keys import load_signing_keys
from api.auth.policy import ALL_SCOPES
from api.settings import Settings
from db.demo_identity import seed_demo_identity
from db.migrate import upgrade
from db.seed import seed
from db.session import create_engine, create_sessionmaker, is_sqlite
from tests.helpers import StatementCounter, Tokens

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
        async with create_sessionmaker(engine)() as session:
            await seed_demo_identity(session)
            await session.commit()
        await engine.dispose()

    asyncio.run(fill())
    return database_url


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("keys") / "signing-key.json")


@pytest.fixture
def settings(seeded_database: str, key_file: str) -> Settings:
    return Settings(database_url=seeded_database, ssn_hash_key=SSN_KEY, dev_key_file=key_file)


@pytest.fixture
def issuer(settings: Settings) -> TokenIssuer:
    return TokenIssuer(
        keys=load_signing_keys(settings),
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime_seconds=settings.access_token_seconds,
    )


@pytest.fixture
def tokens(connection: AsyncConnection, issuer: TokenIssuer) -> Tokens:
    return Tokens(connection, issuer)


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
async def committing(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of their own engine that really commit, outside the test's transaction:
    the concurrency tests need other transactions to race (they clean up after)."""
    engine = create_engine(settings.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def anonymous(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app over HTTP (httpx's ASGI transport), without credentials."""
    app = create_app(settings, sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


@pytest.fixture
async def client(anonymous: httpx.AsyncClient, tokens: Tokens) -> httpx.AsyncClient:
    """The app as a group-accounts rep asking for every scope (effective: the rep's)."""
    token = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    anonymous.headers["Authorization"] = f"Bearer {token}"
    return anonymous


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
