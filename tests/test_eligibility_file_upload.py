"""Uploading an eligibility file over GraphQL (multipart request spec), following its job,
and downloading its report and the CSV template."""

from __future__ import annotations

import csv
import io

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.app import create_app
from api.auth.policy import ALL_SCOPES
from api.services.eligibility_files import jobs
from api.settings import Settings
from db.models import EligibilityFile
from tests.helpers import Tokens, graphql, graphql_errors, graphql_ok
from tests.test_eligibility_changes import group_gid
from tests.test_eligibility_files import roster

UPLOAD = """
mutation ($input: EligibilityFileUploadInput!) {
  eligibilityFileUpload(input: $input) {
    duplicate
    file { id status fileName source reportPath }
    userErrors { code field message }
  }
}
"""
FILE = """
query ($id: ID!) { node(id: $id) { ... on EligibilityFile {
  status progress { processed total } applied pendingReview rejected
  group { groupNumber }
  problems(first: 10) { totalCount edges { node { position member code message } } } } } }
"""
FILES = """
{ group(groupNumber: "G100001") { eligibilityFiles(first: 5) { totalCount
  edges { node { fileName status } } } } }
"""
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


async def upload(
    client: httpx.AsyncClient,
    group_id: str,
    content: bytes,
    *,
    token: str | None = None,
    headers: dict[str, str] = PREFLIGHT,
) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": {"input": {"groupId": group_id, "file": None}}}
    extra = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
        },
        files={"0": ("changes.csv", content, "text/csv")},
        headers={**headers, **extra},
    )


async def plan_of(connection: AsyncConnection) -> str:
    from tests.eligibility_support import group_and_plans

    async with AsyncSession(bind=connection) as session:
        _, plans = await group_and_plans(session)
    return plans[0]


async def test_a_leader_uploads_a_roster_and_follows_its_job_to_the_report(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tokens: Tokens,
) -> None:
    # given a benefit leader with eligibility MANAGE
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    gid = await group_gid(connection)
    # when they upload a roster, and the job runs
    response = await upload(anonymous, gid, roster(await plan_of(connection)), token=token)
    payload = graphql_ok(response)["eligibilityFileUpload"]
    assert payload["userErrors"] == []
    assert payload["file"]["status"] == "RECEIVED"
    assert (payload["file"]["fileName"], payload["file"]["source"]) == ("changes.csv", "PORTAL")
    file_id = int(payload["file"]["reportPath"].split("/")[3])
    assert await jobs.run_job(sessions, jobs.JobSettings.from_settings(settings), file_id)
    # then the file shows its result and its report, in the API and as CSV
    node = graphql_ok(await graphql(anonymous, FILE, {"id": payload["file"]["id"]}, token=token))
    file = node["node"]
    assert file["status"] == "COMPLETED_WITH_ERRORS"
    assert (file["progress"], file["applied"], file["rejected"]) == (
        {"processed": 2, "total": 2}, 3, 3,
    )  # fmt: skip
    assert [p["node"]["position"] for p in file["problems"]["edges"]] == [5, 6, 7]
    assert file["problems"]["totalCount"] == 3
    report = await anonymous.get(
        payload["file"]["reportPath"], headers={"Authorization": f"Bearer {token}"}
    )
    assert report.status_code == 200
    assert report.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["position", "member", "code", "message"]
    assert [row[2] for row in rows[1:]] == [
        "INVALID_DATE",
        "SUBSCRIBER_LINE_INVALID",
        "MEMBER_NOT_FOUND",
    ]
    listed = graphql_ok(await graphql(anonymous, FILES, token=token))
    assert listed["group"]["eligibilityFiles"]["totalCount"] == 1
    # and the same bytes again are recognised, not applied twice
    again = graphql_ok(await upload(anonymous, gid, roster(await plan_of(connection)), token=token))
    assert again["eligibilityFileUpload"]["duplicate"] is True
    assert again["eligibilityFileUpload"]["file"]["id"] == payload["file"]["id"]


async def test_an_upload_without_the_preflight_header_is_refused(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await upload(anonymous, await group_gid(connection), b"x", token=token, headers={})
    assert response.status_code == 400
    assert "Apollo-Require-Preflight" in response.text
    assert await connection.scalar(select(func.count(EligibilityFile.id))) == 0


async def test_a_viewer_cannot_upload_and_another_group_is_not_found(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    viewer = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    refused = await upload(anonymous, await group_gid(connection), b"a,b\r\n", token=viewer)
    assert graphql_errors(refused)[0]["extensions"]["code"] == "FORBIDDEN"
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    other = await upload(anonymous, await group_gid(connection, "G100003"), b"a\r\n", token=leader)
    errors = graphql_ok(other)["eligibilityFileUpload"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("GROUP_NOT_FOUND", ["groupId"])]
    assert await connection.scalar(select(func.count(EligibilityFile.id))) == 0


async def test_an_oversized_file_is_refused_with_the_limit(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    small = settings.model_copy(update={"max_file_bytes": 2_000_000 // 1000})
    app = create_app(small, sessions=sessions)
    token = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await upload(c, await group_gid(connection), b"x" * 5_000, token=token)
    [error] = graphql_ok(response)["eligibilityFileUpload"]["userErrors"]
    assert (error["code"], error["field"]) == ("FILE_TOO_LARGE", ["file"])
    assert await connection.scalar(select(func.count(EligibilityFile.id))) == 0


@pytest.mark.parametrize("who", [None, "viewer@demo.test", "billing@demo.test"])
async def test_the_report_needs_a_token_and_a_file_the_caller_may_see(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens, who: str | None
) -> None:
    # given a file of G100002 (the viewer and the billing clerk are leaders of G100001 only)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    gid = await group_gid(connection, "G100002")
    sent = graphql_ok(await upload(anonymous, gid, b"a\r\n", token=leader))
    path = sent["eligibilityFileUpload"]["file"]["reportPath"]
    # when someone without a token, or without eligibility access to it, asks for the report
    headers = (
        {} if who is None else {"Authorization": f"Bearer {await tokens.for_user(who, ALL_SCOPES)}"}
    )
    response = await anonymous.get(path, headers=headers)
    # then 401; 404 as for a file that does not exist; 403 without eligibility:read at all
    expected = {None: 401, "viewer@demo.test": 404, "billing@demo.test": 403}[who]
    assert response.status_code == expected


async def test_the_template_downloads_without_a_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/documents/eligibility-template.csv")
    assert response.status_code == 200
    assert response.text.startswith("action,effective_date,reason,")


async def test_edi_operations_upload_with_client_credentials(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given the EDI operations client's token (client credentials, no user)
    token = tokens.for_client(
        "edi-operations", {"group:read", "eligibility:read", "eligibility:write"}
    )
    # when it uploads a file for a group
    response = await upload(
        anonymous, await group_gid(connection, "G100003"), b"a\r\n", token=token
    )
    # then the file is received as sent by EDI
    payload = graphql_ok(response)["eligibilityFileUpload"]
    assert payload["userErrors"] == []
    assert payload["file"]["source"] == "EDI"
    uploader = await connection.scalar(select(EligibilityFile.uploaded_by_client_id))
    assert uploader == "edi-operations"
