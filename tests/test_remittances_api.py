"""Remittances over HTTP: a benefit leader with billing MANAGE remits a self-billed month
(as lines or CSV), a representative works the exception queue, and nobody else can submit,
decide or see another group's remittances. The amounts are those of
``tests/test_remittances.py`` (expected $160.00, threshold $25.00)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from db.models import AccessLevel, AuditEvent, Group, GroupGrant, LedgerEntry, Remittance
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok
from tests.test_remittances import A, B, C, self_billed

SUBMIT = """mutation($input: RemittanceSubmitInput!) { remittanceSubmit(input: $input) {
  replayed userErrors { code message field }
  remittance { id month status amount { amount currency } expected { amount }
    variance { amount } threshold { amount } withinThreshold source
    invoice { total { amount } status }
    lines { position memberId planCode tier amount { amount } }
    differences { kind memberId expected { amount } remitted { amount }
      difference { amount } message } } } }"""
RESOLVE = """mutation($input: RemittanceResolveInput!) { remittanceResolve(input: $input) {
  userErrors { code message field }
  remittance { id status resolution { decision reason } invoice { total { amount } } } } }"""
QUEUE = """{ remittanceExceptions(first: 10) { totalCount edges { node {
  id status variance { amount } group { groupNumber } differences { kind } } } } }"""
GROUP = """query($number: String!) { group(groupNumber: $number) {
  remittances(first: 5) { totalCount edges { node { id status
    resolution { decision reason } supersededBy { id } supersedes { id } } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { ... on Remittance { id status } } }"""


async def _setup(sessions: async_sessionmaker[AsyncSession], tokens: Tokens) -> tuple[str, str]:
    """The self-billed G900001; leader@ manages its billing, viewer@ only views it."""
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        for email, level in (("leader@demo.test", AccessLevel.MANAGE),
                             ("viewer@demo.test", AccessLevel.VIEW)):  # fmt: skip
            user_id = await tokens.user_id(email)
            session.add(GroupGrant(user_id=user_id, group_id=group.id, billing_access=level))
    return global_id("Group", group.id), plan


def _input(group: str, plan: str, *, b_tier: str = "EMPLOYEE_SPOUSE", b_amount: str = "80.00",
           key: str = "dec-1", **extra: Any) -> dict[str, Any]:  # fmt: skip
    lines = [
        {"memberId": A, "planCode": plan.lower(), "tier": "EMPLOYEE", "amount": "30.00"},
        {"memberId": B, "planCode": plan, "tier": b_tier, "amount": b_amount},
        {"memberId": C, "planCode": plan, "tier": "EMPLOYEE", "amount": "40.00"},
    ]
    total = sum(Decimal(line["amount"]) for line in lines)
    sent = {"groupId": group, "month": "2026-12-09", "amount": str(total), "lines": lines,
            "idempotencyKey": key}  # fmt: skip
    sent.update(extra)
    return {"input": sent}


async def _submit(client: httpx.AsyncClient, token: str, variables: dict[str, Any]) -> Any:
    response = await graphql(client, SUBMIT, variables, token=token)
    return graphql_ok(response)["remittanceSubmit"]


async def _count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    """Rows of ``model`` (Remittance or LedgerEntry) of the test's group G900001."""
    async with sessions() as session:
        stmt = select(func.count()).select_from(model).join(Group, Group.id == model.group_id)
        return int(await session.scalar(stmt.where(Group.group_number == "G900001")) or 0)


async def test_a_leader_remits_within_the_threshold_and_retries_safely(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group, plan = await _setup(sessions, tokens)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    # when
    done = await _submit(anonymous, leader, _input(group, plan))
    # then
    assert (done["userErrors"], done["replayed"]) == ([], False)
    remittance = done["remittance"]
    assert (remittance["month"], remittance["status"], remittance["source"]) == (
        "2026-12-01", "ACCEPTED", "LINES",
    )  # fmt: skip
    assert remittance["amount"] == {"amount": "150.00", "currency": "USD"}
    assert (remittance["expected"], remittance["variance"], remittance["threshold"]) == (
        {"amount": "160.00"}, {"amount": "-10.00"}, {"amount": "25.00"},
    )  # fmt: skip
    assert remittance["withinThreshold"] is True
    assert remittance["invoice"] == {"total": {"amount": "160.00"}, "status": "ISSUED"}
    assert [line["planCode"] for line in remittance["lines"]] == [plan] * 3
    [difference] = remittance["differences"]
    assert (difference["kind"], difference["memberId"], difference["difference"]) == (
        "RATE_MISMATCH", A, {"amount": "-10.00"},
    )  # fmt: skip
    # a retry with the same key returns the first result; other input with it is refused
    again = await _submit(anonymous, leader, _input(group, plan))
    assert (again["replayed"], again["remittance"]["id"]) == (True, remittance["id"])
    reused = await _submit(anonymous, leader, _input(group, plan, b_amount="79.00"))
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    # the month is final once accepted
    final = await _submit(anonymous, leader, _input(group, plan, key="dec-2"))
    assert [e["code"] for e in final["userErrors"]] == ["ALREADY_ACCEPTED"]
    assert await _count(sessions, Remittance) == 1
    async with sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert {"remittance.submit", "remittance.submitReplay", "invoice.post"} <= set(actions)


async def test_an_exception_is_queued_for_a_rep_who_accepts_or_rejects_it(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group, plan = await _setup(sessions, tokens)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    # given B remitted at EMPLOYEE: $110.00 against $160.00
    held = await _submit(anonymous, leader, _input(group, plan, b_tier="EMPLOYEE",
                                                   b_amount="40.00", key="x1"))  # fmt: skip
    first = held["remittance"]
    assert (first["status"], first["invoice"]) == ("EXCEPTION", None)
    assert {d["kind"] for d in first["differences"]} == {"RATE_MISMATCH", "TIER_MISMATCH"}
    # then the rep sees it in the queue
    queue = graphql_ok(await graphql(anonymous, QUEUE, token=rep))["remittanceExceptions"]
    assert queue["totalCount"] == 1
    assert queue["edges"][0]["node"]["group"] == {"groupNumber": "G900001"}
    # and rejects it with a message the leader sees
    message = "Remit B at EMPLOYEE_SPOUSE: the spouse is covered."
    decide = {"id": first["id"], "decision": "REJECT", "reason": message}
    rejected = graphql_ok(await graphql(anonymous, RESOLVE, {"input": decide}, token=rep))
    assert rejected["remittanceResolve"]["remittance"]["resolution"] == {
        "decision": "REJECT", "reason": message,
    }  # fmt: skip
    assert await _count(sessions, LedgerEntry) == 0
    # the group submits again, is still short, and a rep accepts that one with a reason
    short = _input(group, plan, b_tier="EMPLOYEE", b_amount="40.00", key="x2")
    second = (await _submit(anonymous, leader, short))["remittance"]
    decide = {"id": second["id"], "decision": "ACCEPT", "reason": "Spouse ends in December"}
    accepted = graphql_ok(await graphql(anonymous, RESOLVE, {"input": decide}, token=rep))
    body = accepted["remittanceResolve"]
    assert body["userErrors"] == []
    assert (body["remittance"]["status"], body["remittance"]["invoice"]) == (
        "ACCEPTED", {"total": {"amount": "160.00"}},
    )  # fmt: skip
    async with sessions() as session:
        ledger = await session.scalar(
            select(func.sum(LedgerEntry.amount_cents))
            .join(Group, Group.id == LedgerEntry.group_id)
            .where(Group.group_number == "G900001")
        )
        reason = await session.scalar(
            select(AuditEvent.changes).where(AuditEvent.action == "remittance.accept")
        )
    assert ledger == 11000
    assert reason is not None
    assert "Spouse ends in December" in reason
    # the group's history shows both; the queue is empty
    seen = graphql_ok(await graphql(anonymous, GROUP, {"number": "G900001"}, token=leader))
    nodes = [edge["node"] for edge in seen["group"]["remittances"]["edges"]]
    assert sorted(node["status"] for node in nodes) == ["ACCEPTED", "REJECTED"]
    queue = graphql_ok(await graphql(anonymous, QUEUE, token=rep))["remittanceExceptions"]
    assert queue["totalCount"] == 0


async def test_a_new_submission_supersedes_an_open_exception(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group, plan = await _setup(sessions, tokens)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    held = await _submit(anonymous, leader, _input(group, plan, b_tier="EMPLOYEE",
                                                   b_amount="40.00", key="s1"))  # fmt: skip
    fixed = await _submit(anonymous, leader, _input(group, plan, key="s2"))
    assert fixed["remittance"]["status"] == "ACCEPTED"
    seen = graphql_ok(await graphql(anonymous, GROUP, {"number": "G900001"}, token=leader))
    by_id = {e["node"]["id"]: e["node"] for e in seen["group"]["remittances"]["edges"]}
    old = by_id[held["remittance"]["id"]]
    assert (old["status"], old["supersededBy"]) == ("SUPERSEDED", {"id": fixed["remittance"]["id"]})
    assert by_id[fixed["remittance"]["id"]]["supersedes"] == {"id": old["id"]}


async def test_a_csv_roster_and_a_csv_with_a_bad_line(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group, plan = await _setup(sessions, tokens)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    bad = (f"member_id,plan_code,tier,amount\n{A},{plan},EMPLOYEE,30.00\n"
           f"{B},{plan},EMPLOYEE_SPOUSE,eighty\n{C},{plan},EMPLOYEE,40.00\n")  # fmt: skip
    refused = await _submit(anonymous, leader, _input(group, plan, lines=None, csv=bad))
    assert refused["remittance"] is None
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("CSV_LINE_INVALID", ["csv"])
    assert error["message"].startswith("Line 3: amount must be dollars and cents")
    assert await _count(sessions, Remittance) == 0
    good = bad.replace("eighty", "80.00")
    done = await _submit(anonymous, leader, _input(group, plan, lines=None, csv=good))
    assert (done["userErrors"], done["remittance"]["status"]) == ([], "ACCEPTED")
    assert done["remittance"]["source"] == "CSV"
    assert [line["position"] for line in done["remittance"]["lines"]] == [2, 3, 4]
    both = await _submit(anonymous, leader, _input(group, plan, csv=good, key="both"))
    assert [e["code"] for e in both["userErrors"]] == ["ROSTER_REQUIRED"]


async def test_without_billing_manage_nobody_submits_and_other_groups_see_nothing(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    group, plan = await _setup(sessions, tokens)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    done = await _submit(anonymous, leader, _input(group, plan, b_tier="EMPLOYEE",
                                                   b_amount="40.00"))  # fmt: skip
    remittance_id = done["remittance"]["id"]
    # a viewer (billing VIEW only, so no billing:write at all) is stopped at the field
    viewer = await tokens.for_user("viewer@demo.test", ALL_SCOPES)
    forbidden = await graphql(anonymous, SUBMIT, _input(group, plan, key="v"), token=viewer)
    assert graphql_errors(forbidden)[0]["extensions"]["code"] == "FORBIDDEN"
    # billing@ manages another group's billing: this group does not exist for them
    clerk = await tokens.for_user("billing@demo.test", ALL_SCOPES)
    blind = await _submit(anonymous, clerk, _input(group, plan, key="other"))
    assert [e["code"] for e in blind["userErrors"]] == ["GROUP_NOT_FOUND"]
    seen = graphql_ok(await graphql(anonymous, NODE, {"id": remittance_id}, token=clerk))
    assert seen["node"] is None
    hidden = graphql_ok(await graphql(anonymous, GROUP, {"number": "G900001"}, token=clerk))
    assert hidden == {"group": None}
    # once granted billing VIEW of it, they see its remittances but cannot remit (audited)
    async with sessions.begin() as session:
        group_pk = int(
            await session.scalar(select(Group.id).where(Group.group_number == "G900001")) or 0
        )
        session.add(GroupGrant(user_id=await tokens.user_id("billing@demo.test"),
                               group_id=group_pk, billing_access=AccessLevel.VIEW))  # fmt: skip
    forbidden = await graphql(anonymous, SUBMIT, _input(group, plan, key="c"), token=clerk)
    assert graphql_errors(forbidden)[0]["extensions"]["code"] == "FORBIDDEN"
    async with sessions() as session:
        denied = await session.scalar(
            select(func.count()).where(AuditEvent.action == "denied:remittance.submit")
        )
    assert denied == 1
    node = graphql_ok(await graphql(anonymous, NODE, {"id": remittance_id}, token=clerk))
    assert node["node"] == {"id": remittance_id, "status": "EXCEPTION"}
    assert await _count(sessions, Remittance) == 1
    # leaders cannot work the queue or decide
    queue = await graphql(anonymous, QUEUE, token=leader)
    assert graphql_errors(queue)[0]["extensions"]["code"] == "FORBIDDEN"
    decide = {"id": remittance_id, "decision": "ACCEPT", "reason": "mine"}
    resolved = await graphql(anonymous, RESOLVE, {"input": decide}, token=leader)
    assert graphql_errors(resolved)[0]["extensions"]["code"] == "FORBIDDEN"
    assert await _count(sessions, LedgerEntry) == 0


async def test_a_list_billed_group_is_refused(anonymous: httpx.AsyncClient, tokens: Tokens) -> None:
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    seen = graphql_ok(await graphql(anonymous, "{ groups(first: 100, filter: "
                                    "{billingMode: [LIST_BILL]}) { edges { node { id } } } }",
                                    token=rep))  # fmt: skip
    group = seen["groups"]["edges"][0]["node"]["id"]
    refused = await _submit(anonymous, rep, _input(group, "DPPO"))
    assert refused["remittance"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_SELF_BILLED"]
