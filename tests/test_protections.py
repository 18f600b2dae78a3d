"""The server protects itself (OWASP GraphQL cheat sheet; SPEC §4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.app import create_app
from api.auth.access_tokens import TokenIssuer
from api.auth.policy import ALL_SCOPES
from api.schema import build_schema
from api.settings import Settings
from db.models import ChangeBatch, ChangeItem, ChangeKind, ChangeStatus, Group
from db.session import create_engine
from tests.helpers import UNREACHABLE_DATABASE, Tokens, graphql, graphql_errors, graphql_ok


@pytest.fixture
async def broken_client(
    settings: Settings, issuer: TokenIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a database that cannot be opened, with errors masked as in production,
    called with a well-signed token (so the database is reached)."""
    engine = create_engine(UNREACHABLE_DATABASE)
    masked = settings.model_copy(update={"mask_errors": True})
    app = create_app(masked, sessions=async_sessionmaker(engine))
    token = issuer.issue(subject="user:1", client_id="portal-web", scope="group:read", family=None)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c
    await engine.dispose()


async def test_query_depth_is_bounded(client: httpx.AsyncClient) -> None:
    deep = (
        '{ node(id: "x") { ... on Member { '
        + "subscriber { " * 12
        + "memberId"
        + " }" * 12
        + " } } }"
    )
    errors = graphql_errors(await graphql(client, deep))
    assert "exceeds maximum operation depth" in errors[0]["message"]


async def test_aliases_are_bounded(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f'a{i}: group(groupNumber: "G1") {{ name }}' for i in range(16)) + " }"
    errors = graphql_errors(await graphql(client, query))
    assert "aliases found" in errors[0]["message"]


async def test_tokens_are_bounded(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(["__typename"] * 2100) + " }"
    errors = graphql_errors(await graphql(client, query))
    assert "more than 2000 tokens" in errors[0]["message"]


async def test_many_unknown_directives_give_one_error(client: httpx.AsyncClient) -> None:
    query = "{ __typename " + "@nope " * 500 + "}"
    errors = graphql_errors(await graphql(client, query))
    assert len(errors) == 1
    assert errors[0]["message"] == "The document has 500 directives; at most 20 are allowed."


async def test_errors_make_no_suggestions(client: httpx.AsyncClient) -> None:
    response = await graphql(client, '{ group(groupNumbr: "G1") { nme } grups { totalCount } }')
    messages = " ".join(error["message"] for error in graphql_errors(response))
    assert "Cannot query field" in messages
    assert "Did you mean" not in messages


async def test_get_queries_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code in {400, 405}
    assert "data" not in response.text


async def test_batched_queries_are_refused(client: httpx.AsyncClient) -> None:
    batch = [{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    response = await client.post("/graphql", json=batch)
    assert response.status_code == 400


async def test_request_body_is_bounded(client: httpx.AsyncClient) -> None:
    padding = "x" * 1_100_000
    response = await client.post("/graphql", json={"query": "{ __typename }", "p": padding})
    assert response.status_code == 413


async def test_streamed_body_without_length_is_bounded(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 100_000

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_unexpected_errors_are_masked_with_a_correlation_id(
    broken_client: httpx.AsyncClient,
) -> None:
    response = await broken_client.post(
        "/graphql",
        json={"query": "{ groups { totalCount } }"},
        headers={"x-request-id": "req-12345678"},
    )
    errors = graphql_errors(response)
    assert errors[0]["message"] == "Unexpected error."
    assert errors[0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "correlationId": "req-12345678",
    }
    assert "sqlite" not in response.text.lower()
    assert response.headers["x-request-id"] == "req-12345678"


async def test_graphiql_is_served_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_introspection_works_in_development(client: httpx.AsyncClient) -> None:
    data = graphql_ok(await graphql(client, "{ __schema { queryType { name } } }"))
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_introspection_is_disabled_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production"})
    result = await build_schema(production).execute("{ __schema { queryType { name } } }")
    assert result.errors
    assert "introspection" in result.errors[0].message.lower()


async def test_production_serves_no_graphiql(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production"})
    app = create_app(production)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        ide = await c.get("/graphql", headers={"accept": "text/html"})
        health = await c.get("/healthz")
    assert "graphiql" not in ide.text.lower()
    assert health.status_code == 200


async def test_responses_are_json_encoded(client: httpx.AsyncClient) -> None:
    response = await graphql(client, "{ __typename }")
    assert orjson.loads(response.content) == {"data": {"__typename": "Query"}}


CHANGES_OF_G100001 = """
{ group(groupNumber: "G100001") { eligibilityChanges(first: 5) { edges { node {
  kind problems { code } } } } } }
"""


async def test_a_resolver_that_fails_is_masked_and_logged(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    tokens: Tokens,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a change item whose stored problems are not JSON (a corrupt row), and an app
    # that masks errors as production does
    group_id = await connection.scalar(select(Group.id).where(Group.group_number == "G100001"))
    batch = await connection.scalar(
        insert(ChangeBatch)
        .values(group_id=group_id, idempotency_key="corrupt", fingerprint="0" * 64)
        .returning(ChangeBatch.id)
    )
    await connection.execute(
        insert(ChangeItem).values(
            batch_id=batch, group_id=group_id, position=0, kind=ChangeKind.ADD_SUBSCRIBER,
            payload="{}", status=ChangeStatus.REJECTED, problems="[not json",
        )
    )  # fmt: skip
    app = create_app(settings.model_copy(update={"mask_errors": True}), sessions=sessions)
    token = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    # when the list is read
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await graphql(client, CHANGES_OF_G100001, token=token)
    # then the caller sees only a masked error with the correlation id, and the log has it
    [error] = graphql_errors(response)
    assert error["message"] == "Unexpected error."
    correlation = error["extensions"]["correlationId"]
    assert correlation == response.headers["x-request-id"]
    assert "json" not in response.text.lower()
    logged = capsys.readouterr()
    assert correlation in logged.out + logged.err
    assert "JSONDecodeError" in logged.out + logged.err
