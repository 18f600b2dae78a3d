"""Health probes."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.app import create_app
from api.settings import Settings
from db.session import create_engine
from tests.helpers import UNREACHABLE_DATABASE


async def test_healthz_says_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["x-request-id"]


async def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    # given a database URL that cannot be opened
    engine = create_engine(UNREACHABLE_DATABASE)
    app = create_app(settings, sessions=async_sessionmaker(engine))
    # when
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    await engine.dispose()
    # then
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
