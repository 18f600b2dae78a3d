"""Test helpers: GraphQL over HTTP and the statement-count guard."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.auth.access_tokens import TokenIssuer
from db.models import User

# Port 1 on loopback refuses connections at once: a database that is down.
UNREACHABLE_DATABASE = "postgresql+asyncpg://portal@127.0.0.1:1/portal"


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> httpx.Response:
    """POST a GraphQL operation, with ``token`` as the bearer credential when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def graphql_ok(response: httpx.Response) -> dict[str, Any]:
    """The ``data`` of a successful response; fails with the errors otherwise."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def graphql_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``errors`` of a response that must have some."""
    body = response.json()
    assert body.get("errors"), body
    errors: list[dict[str, Any]] = body["errors"]
    return errors


def global_id(type_name: str, pk: int | str) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


class Tokens:
    """Real access tokens for seeded users and clients, minted with the server's key."""

    def __init__(self, connection: AsyncConnection, issuer: TokenIssuer) -> None:
        self.connection = connection
        self.issuer = issuer

    async def user_id(self, email: str) -> int:
        user_id = await self.connection.scalar(select(User.id).where(User.email_key == email))
        assert user_id is not None, email
        return int(user_id)

    async def for_user(
        self, email: str, scopes: Iterable[str], *, client_id: str = "portal-web"
    ) -> str:
        user_id = await self.user_id(email)
        return self.issuer.issue(
            subject=f"user:{user_id}",
            client_id=client_id,
            scope=" ".join(sorted(scopes)),
            family=None,
        )

    def for_client(self, client_id: str, scopes: Iterable[str]) -> str:
        return self.issuer.issue(
            subject=f"client:{client_id}",
            client_id=client_id,
            scope=" ".join(sorted(scopes)),
            family=None,
        )


class StatementCounter:
    """Counts SQL statements sent on ``engine`` while active (``before_cursor_execute``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
