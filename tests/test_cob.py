"""Coordination of benefits (SPEC §2 COB): the order rules as a table, and other coverage
added, ended and ordered over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from api.auth.policy import ALL_SCOPES
from api.services.cob import CobRule, Payer, PlanFacts, cob_order
from db.models import Coverage, Group, Member, OtherCoverage, Relationship
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok

D = dt.date


def _plan(holder: bool, born: D | None, since: D | None = None, name: str = "Here") -> PlanFacts:
    return PlanFacts(name, holder, born, since, None if name == "Here" else 1)


# (case, this carrier's facts, the other plan's facts, expected payer order, expected rule)
RULES = [
    ("own plan here, dependent elsewhere", _plan(True, D(1980, 9, 1)),
     _plan(False, D(1979, 1, 1), name="Other"), ["Here", "Other"], CobRule.SUBSCRIBER_OWN_PLAN),
    ("dependent here, own plan elsewhere", _plan(False, D(1980, 1, 1)),
     _plan(True, D(1985, 6, 1), name="Other"), ["Other", "Here"], CobRule.SUBSCRIBER_OWN_PLAN),
    ("birthday: this parent's comes first", _plan(False, D(1990, 3, 4)),
     _plan(False, D(1970, 3, 5), name="Other"), ["Here", "Other"], CobRule.BIRTHDAY_RULE),
    ("birthday: the year is ignored", _plan(False, D(1970, 12, 31)),
     _plan(False, D(1995, 1, 1), name="Other"), ["Other", "Here"], CobRule.BIRTHDAY_RULE),
    ("same birthday: covered longer here", _plan(False, D(1980, 5, 5), D(2010, 1, 1)),
     _plan(False, D(1982, 5, 5), D(2015, 1, 1), "Other"), ["Here", "Other"],
     CobRule.LONGER_COVERAGE),
    ("same birthday: covered longer elsewhere", _plan(False, D(1980, 5, 5), D(2020, 1, 1)),
     _plan(False, D(1982, 5, 5), D(2019, 12, 31), "Other"), ["Other", "Here"],
     CobRule.LONGER_COVERAGE),
    ("same birthday, same start: undetermined", _plan(False, D(1980, 5, 5), D(2020, 1, 1)),
     _plan(False, D(1982, 5, 5), D(2020, 1, 1), "Other"), ["Here", "Other"],
     CobRule.UNDETERMINED),
    ("no birth date elsewhere: undetermined", _plan(False, D(1980, 5, 5)),
     _plan(False, None, name="Other"), ["Here", "Other"], CobRule.UNDETERMINED),
    ("own plan in both: longer coverage", _plan(True, D(1980, 5, 5), D(2021, 1, 1)),
     _plan(True, D(1980, 5, 5), D(2001, 1, 1), "Other"), ["Other", "Here"],
     CobRule.LONGER_COVERAGE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("this", "other", "payers", "rule"),
    [case[1:] for case in RULES],
    ids=[case[0] for case in RULES],
)
def test_cob_rules(this: PlanFacts, other: PlanFacts, payers: list[str], rule: CobRule) -> None:
    entries = cob_order(this, [other])
    assert [entry.carrier_name for entry in entries] == payers
    assert [entry.order for entry in entries] == [1, 2]
    assert {entry.rule for entry in entries} == {rule}


def test_single_coverage_is_only_coverage() -> None:
    [entry] = cob_order(_plan(True, D(1980, 1, 1)), [])
    assert (entry.payer, entry.order, entry.rule) == (Payer.THIS_CARRIER, 1, CobRule.ONLY_COVERAGE)


ADD = """
mutation Add($input: OtherCoverageAddInput!) {
  otherCoverageAdd(input: $input) {
    otherCoverage { id carrierName terminationDate }
    userErrors { code field message }
  }
}
"""
END = """
mutation End($input: OtherCoverageEndInput!) {
  otherCoverageEnd(input: $input) {
    otherCoverage { id terminationDate } userErrors { code field }
  }
}
"""
ORDER = """
query Order($id: ID!, $on: Date!) { node(id: $id) { ... on Member {
  otherCoverages { carrierName }
  cobOrder(on: $on) { payer carrierName order rule otherCoverage { policyNumber } }
} } }
"""


async def _child(connection: AsyncConnection, group_number: str) -> tuple[int, D]:
    """A covered child of ``group_number`` and their subscriber's date of birth."""
    subscriber = aliased(Member)
    stmt = (
        select(Member.id, subscriber.date_of_birth)
        .join(subscriber, subscriber.id == Member.subscriber_id)
        .join(Group, Group.id == Member.group_id)
        .join(Coverage, Coverage.member_id == Member.id)
        .where(Group.group_number == group_number, Member.relationship == Relationship.CHILD)
        .where(Coverage.termination_date.is_(None))
        .order_by(Member.id)
        .limit(1)
    )
    pk, born = (await connection.execute(stmt)).one()
    return int(pk), born


def _input(member_pk: int, born: D, **extra: Any) -> dict[str, Any]:
    values = {
        "memberId": global_id("Member", member_pk),
        "carrierName": "Other Dental",
        "policyNumber": "P-1",
        "policyHolderName": "Pat Other",
        "policyHolderBirthDate": born.isoformat(),
        "effectiveDate": "2020-01-01",
    }
    return {"input": values | extra}


async def test_child_of_two_covered_parents_follows_birthday_rule(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given: the other parent's birthday is the day after this subscriber's
    child_pk, parent_born = await _child(connection, "G100001")
    later = parent_born + dt.timedelta(days=1)
    if later.year != parent_born.year:  # Dec 31: use Jan 1 and expect the reverse
        later = parent_born.replace(month=1, day=1)
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    # when
    added = graphql_ok(await graphql(anonymous, ADD, _input(child_pk, later), token=token))
    order = graphql_ok(
        await graphql(
            anonymous,
            ORDER,
            {"id": global_id("Member", child_pk), "on": "2026-11-15"},
            token=token,
        )
    )["node"]
    # then
    assert added["otherCoverageAdd"]["userErrors"] == []
    first = "THIS_CARRIER" if later > parent_born.replace(year=later.year) else "OTHER"
    assert order["cobOrder"][0]["payer"] == first
    assert [entry["rule"] for entry in order["cobOrder"]] == ["BIRTHDAY_RULE"] * 2
    assert order["otherCoverages"] == [{"carrierName": "Other Dental"}]


async def test_end_other_coverage_then_only_this_carrier(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    child_pk, _ = await _child(connection, "G100002")
    added = graphql_ok(await graphql(client, ADD, _input(child_pk, D(1970, 1, 1))))
    other_id = added["otherCoverageAdd"]["otherCoverage"]["id"]
    ended = graphql_ok(
        await graphql(client, END, {"input": {"id": other_id, "terminationDate": "2025-12-31"}})
    )["otherCoverageEnd"]
    again = graphql_ok(
        await graphql(client, END, {"input": {"id": other_id, "terminationDate": "2025-12-31"}})
    )["otherCoverageEnd"]
    order = graphql_ok(
        await graphql(client, ORDER, {"id": global_id("Member", child_pk), "on": "2026-11-15"})
    )["node"]["cobOrder"]
    assert ended["otherCoverage"]["terminationDate"] == "2025-12-31"
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_ENDED"]
    assert [(e["payer"], e["rule"]) for e in order] == [("THIS_CARRIER", "ONLY_COVERAGE")]


async def test_invalid_other_coverage_is_refused_and_nothing_saved(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    child_pk, _ = await _child(connection, "G100002")
    bad = _input(child_pk, D(2099, 1, 1), carrierName=" ", policyNumber="")
    payload = graphql_ok(await graphql(client, ADD, bad))["otherCoverageAdd"]
    codes = sorted(e["code"] for e in payload["userErrors"])
    assert codes == ["INVALID_CARRIER_NAME", "INVALID_POLICY_HOLDER", "INVALID_POLICY_NUMBER"]
    saved = await connection.scalar(
        select(OtherCoverage.id).where(OtherCoverage.member_id == child_pk)
    )
    assert saved is None


async def test_viewer_cannot_add_other_coverage(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    child_pk, _ = await _child(connection, "G100001")
    token = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    response = await graphql(anonymous, ADD, _input(child_pk, D(1970, 1, 1)), token=token)
    assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"


async def test_other_groups_member_is_not_found(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    child_pk, _ = await _child(connection, "G100003")
    token = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    payload = graphql_ok(
        await graphql(anonymous, ADD, _input(child_pk, D(1970, 1, 1)), token=token)
    )["otherCoverageAdd"]
    assert [e["code"] for e in payload["userErrors"]] == ["MEMBER_NOT_FOUND"]
