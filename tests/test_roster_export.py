"""``GET /exports/roster.csv``: the streamed roster export (issue 5)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.exports import safe_cell
from api.roster_export import COLUMNS
from db.models import AuditEvent, Member
from tests.helpers import Tokens, graphql, graphql_ok

TOTAL = """
query Total($number: String!, $filter: MemberFilter) {
  group(groupNumber: $number) { members(first: 1, filter: $filter) { totalCount } }
}
"""
URL = "/exports/roster.csv"


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


async def _total(client: httpx.AsyncClient, number: str, flt: dict[str, str] | None) -> int:
    data = graphql_ok(await graphql(client, TOTAL, {"number": number, "filter": flt}))
    return int(data["group"]["members"]["totalCount"])


@pytest.mark.parametrize("covered_on", [None, "2026-11-15"])
async def test_export_streams_every_member(
    client: httpx.AsyncClient, covered_on: str | None
) -> None:
    # given a group's roster size
    flt = {"coveredOn": covered_on} if covered_on else None
    total = await _total(client, "G100001", flt)
    # when exporting
    params = {"groupNumber": "G100001", **({"coveredOn": covered_on} if covered_on else {})}
    response = await client.get(URL, params=params)
    # then there is a row per member, with the documented columns and headers
    rows = _rows(response)
    assert len(rows) == total > 0
    assert list(rows[0]) == list(COLUMNS)
    assert len({row["memberId"] for row in rows}) == total
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["cache-control"] == "no-store"
    if covered_on:
        assert all(row["planCode"] and row["effectiveDate"] <= covered_on for row in rows)


async def test_export_in_small_batches_keeps_every_member(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given batches much smaller than the roster
    from db.queries import roster_export

    monkeypatch.setattr(roster_export, "EXPORT_BATCH", 7)
    total = await _total(client, "G100001", None)
    # then paging by keyset neither drops nor repeats anyone
    rows = _rows(await client.get(URL, params={"groupNumber": "G100001"}))
    assert len({row["memberId"] for row in rows}) == len(rows) == total


async def test_formula_cells_are_escaped(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # given a member whose name a spreadsheet would run as a formula
    member_id = await connection.scalar(select(Member.member_id).order_by(Member.id).limit(1))
    await connection.execute(
        update(Member)
        .where(Member.member_id == member_id)
        .values(first_name='=HYPERLINK("http://x.test")', last_name="+1-2")
    )
    group = "G100001"
    # when exporting the member's group
    rows = _rows(await client.get(URL, params={"groupNumber": group}))
    # then the cells are prefixed with a quote
    row = next(row for row in rows if row["memberId"] == member_id)
    assert row["firstName"] == '\'=HYPERLINK("http://x.test")'
    assert row["lastName"] == "'+1-2"


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("-5", "'-5"), ("@SUM", "'@SUM"), ("\tx", "'\tx"), ("Ann", "Ann")],
)
def test_safe_cell(value: str, cell: str) -> None:
    assert safe_cell(value) == cell


async def test_export_is_audited_once(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    _rows(await client.get(URL, params={"groupNumber": "G100001"}))
    events = (
        await connection.execute(
            select(AuditEvent.target_id).where(AuditEvent.action == "member.export")
        )
    ).all()
    assert [row[0] for row in events] == ["G100001"]


async def test_without_a_token_is_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(URL, params={"groupNumber": "G100001"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_without_eligibility_read_is_403(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    token = tokens.for_client("claims-system", {"group:read"})
    response = await anonymous.get(
        URL, params={"groupNumber": "G100001"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("group", ["G100003", "G999999"])
async def test_a_group_the_caller_cannot_see_is_404(
    anonymous: httpx.AsyncClient, tokens: Tokens, group: str
) -> None:
    # given a leader granted G100001 only
    token = await tokens.for_user("viewer@demo.test", {"group:read", "eligibility:read"})
    headers = {"Authorization": f"Bearer {token}"}
    # then another group and a missing one look the same, and their own group exports
    response = await anonymous.get(URL, params={"groupNumber": group}, headers=headers)
    assert response.status_code == 404
    own = await anonymous.get(URL, params={"groupNumber": "G100001"}, headers=headers)
    assert own.status_code == 200


async def test_bad_arguments_are_400(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 400
    bad_day = await client.get(URL, params={"groupNumber": "G100001", "coveredOn": "soon"})
    assert bad_day.status_code == 400
