"""The representatives' delinquency worklist (issue 8): OPEN episodes with their groups,
sorted, filtered and paged, per-stage totals over the filtered list, the latest letter
and the next action's date by the group's thresholds and grace extensions in force today.
Nobody but a representative sees it, and its statements do not grow with the page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services.dates import today
from api.services.delinquency.policy import DEFAULT
from api.services.delinquency.worklist import NextAction, NextActionKind, next_action
from api.services.money import cents_to_decimal
from db.models import (
    BillingMode,
    DelinquencyEpisode,
    DelinquencyLetter,
    DelinquencyPolicy,
    DelinquencyStage,
    EpisodeStatus,
    GraceExtension,
    Group,
    GroupStatus,
    LetterKind,
    LetterStatus,
)
from tests.helpers import StatementCounter, Tokens, graphql, graphql_errors, graphql_ok

TODAY = today()
DUE = TODAY - dt.timedelta(days=40)
"""The oldest due date of every test episode (their days past due are set by hand)."""
SENT_AT = dt.datetime.combine(DUE + dt.timedelta(days=3), dt.time(15), tzinfo=dt.UTC)

WORKLIST = """query($first: Int, $after: String, $filter: DelinquencyWorklistFilter,
                    $orderBy: DelinquencyWorklistOrder) {
  delinquencyWorklist(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { hasNextPage endCursor }
    totals { stage groups pastDueAmount { amount currency } }
    edges { node {
      id group { groupNumber name status } stage daysPastDue
      pastDueAmount { amount } balance { amount } pastDueSince paidThroughDate assessedOn
      lastLetter { kind status asOf } lastLetterDate nextAction { kind date }
    } } } }"""
NODE = """query($id: ID!) { node(id: $id) {
  ... on DelinquencyWorklistItem { group { groupNumber } nextAction { kind } } } }"""


@dataclass(frozen=True)
class Case:
    """A test group and its OPEN episode."""

    number: str
    name: str
    state: str
    stage: DelinquencyStage
    days: int
    cents: int
    assessed: int
    """Day of November 2026 it was last assessed."""


CASES = (
    Case("G950001", "Alder Dental Co", "OH", DelinquencyStage.DELINQUENT, 5, 10000, 20),
    Case("G950002", "Birch Works", "FL", DelinquencyStage.SECOND_NOTICE, 20, 30000, 21),
    Case("G950003", "Cedar Partners", "FL", DelinquencyStage.SUSPENDED, 40, 20000, 19),
    Case("G950004", "Dogwood LLC", "TX", DelinquencyStage.SECOND_NOTICE, 25, 5000, 22),
)
A, B, C, D = (case.number for case in CASES)


def _group(number: str, name: str, state: str) -> Group:
    return Group(
        group_number=number, name=name, address_line1="1 Main St", city="Springfield",
        state=state, postal_code="45402", status=GroupStatus.DELINQUENT,
        billing_mode=BillingMode.LIST_BILL, effective_date=dt.date(2026, 1, 1),
    )  # fmt: skip


def _episode(group_id: int, case: Case, status: EpisodeStatus) -> DelinquencyEpisode:
    return DelinquencyEpisode(
        group_id=group_id, status=status, stage=case.stage, past_due_since=DUE, opened_on=DUE,
        assessed_on=dt.date(2026, 11, case.assessed), oldest_due_date=DUE,
        days_past_due=case.days, past_due_cents=case.cents, balance_cents=case.cents + 500,
        paid_through_date=dt.date(2026, 8, 31),
    )  # fmt: skip


def _letter(episode: DelinquencyEpisode, kind: LetterKind, *, sent: bool) -> DelinquencyLetter:
    return DelinquencyLetter(
        episode_id=episode.id, group_id=episode.group_id, kind=kind,
        status=LetterStatus.SENT if sent else LetterStatus.DRAFT,
        as_of=DUE + dt.timedelta(days=2 if sent else 16), days_past_due=episode.days_past_due,
        past_due_cents=episode.past_due_cents, balance_cents=episode.balance_cents,
        past_due_since=DUE, sent_at=SENT_AT if sent else None,
    )  # fmt: skip


async def _worklist(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The four CASES OPEN; B with a DRAFT second notice; C with its own thresholds
    (termination at day 90); a fifth group's episode CURED (not on the worklist)."""
    async with sessions.begin() as session:
        cured = Case("G950005", "Elm Cured Inc", "OH", DelinquencyStage.DELINQUENT, 9, 100, 1)
        for case in (*CASES, cured):
            group = _group(case.number, case.name, case.state)
            session.add(group)
            await session.flush()
            status = EpisodeStatus.CURED if case is cured else EpisodeStatus.OPEN
            episode = _episode(group.id, case, status)
            session.add(episode)
            await session.flush()
            await _letters(session, case, episode)
        c_group = await session.scalar(select(Group.id).where(Group.group_number == C))
        session.add(DelinquencyPolicy(group_id=c_group, first_notice_days=1,
                    second_notice_days=10, suspension_days=45, termination_days=90))  # fmt: skip


async def _letters(session: AsyncSession, case: Case, episode: DelinquencyEpisode) -> None:
    if case.number == A:
        return
    session.add(_letter(episode, LetterKind.FIRST_NOTICE, sent=True))
    if case.number == B:
        session.add(_letter(episode, LetterKind.SECOND_NOTICE, sent=False))
    await session.flush()


async def _rep(tokens: Tokens) -> str:
    return await tokens.for_user("rep@demo.test", ALL_SCOPES)


async def _read(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    data = graphql_ok(await graphql(client, WORKLIST, variables, token=token))
    worklist: dict[str, Any] = data["delinquencyWorklist"]
    return worklist


def _numbers(worklist: dict[str, Any]) -> list[str]:
    return [edge["node"]["group"]["groupNumber"] for edge in worklist["edges"]]


def _by_number(worklist: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {edge["node"]["group"]["groupNumber"]: edge["node"] for edge in worklist["edges"]}


def _amount(cents: int) -> str:
    return str(cents_to_decimal(cents))


async def test_most_days_past_due_first_with_each_groups_standing(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given
    await _worklist(sessions)
    # when a rep reads the worklist
    worklist = await _read(anonymous, await _rep(tokens))
    # then the OPEN episodes come most days past due first (the cured one is not there)
    assert _numbers(worklist) == [C, D, B, A]
    assert worklist["totalCount"] == 4
    cedar = worklist["edges"][0]["node"]
    assert cedar["group"] == {"groupNumber": C, "name": "Cedar Partners", "status": "DELINQUENT"}
    assert (cedar["stage"], cedar["daysPastDue"]) == ("SUSPENDED", 40)
    assert (cedar["pastDueAmount"], cedar["balance"]) == (
        {"amount": _amount(20000)}, {"amount": _amount(20500)}
    )  # fmt: skip
    assert (cedar["pastDueSince"], cedar["paidThroughDate"], cedar["assessedOn"]) == (
        DUE.isoformat(), "2026-08-31", "2026-11-19"
    )  # fmt: skip
    # and the latest letter is the draft where one waits, the sent one (dated when sent)
    # otherwise, and none before the first
    letters = _by_number(worklist)
    assert letters[B]["lastLetter"] == {
        "kind": "SECOND_NOTICE", "status": "DRAFT", "asOf": (DUE + dt.timedelta(16)).isoformat()
    }  # fmt: skip
    assert letters[B]["lastLetterDate"] == (DUE + dt.timedelta(16)).isoformat()
    assert letters[C]["lastLetter"]["status"] == "SENT"
    assert letters[C]["lastLetterDate"] == SENT_AT.date().isoformat()
    assert (letters[A]["lastLetter"], letters[A]["lastLetterDate"]) == (None, None)


@pytest.mark.parametrize(
    ("field", "direction", "expected"),
    [
        ("DAYS_PAST_DUE", "ASC", [A, B, D, C]),
        ("PAST_DUE_AMOUNT", "ASC", [D, A, C, B]),
        ("PAST_DUE_AMOUNT", "DESC", [B, C, A, D]),
        ("GROUP_NUMBER", "ASC", [A, B, C, D]),
        ("GROUP_NUMBER", "DESC", [D, C, B, A]),
        ("ASSESSED_ON", "ASC", [C, A, B, D]),
        ("ASSESSED_ON", "DESC", [D, B, A, C]),
    ],
)
async def test_sorted_and_paged_in_every_order(
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
    field: str,
    direction: str,
    expected: list[str],
) -> None:
    # given
    await _worklist(sessions)
    rep, order = await _rep(tokens), {"field": field, "direction": direction}
    # when read two at a time
    first = await _read(anonymous, rep, first=2, orderBy=order)
    cursor = first["pageInfo"]["endCursor"]
    second = await _read(anonymous, rep, first=2, after=cursor, orderBy=order)
    # then the pages follow the order without gaps or repeats
    assert _numbers(first) + _numbers(second) == expected
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, False)
    # and a cursor of one order is refused by another
    other = {"field": "GROUP_NUMBER" if field != "GROUP_NUMBER" else "DAYS_PAST_DUE"}
    variables = {"first": 2, "after": cursor, "orderBy": other}
    refused = await graphql(anonymous, WORKLIST, variables, token=rep)
    assert "another sort order" in graphql_errors(refused)[0]["message"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"stages": ["SECOND_NOTICE"]}, [D, B]),
        ({"stages": ["SUSPENDED", "DELINQUENT"]}, [C, A]),
        ({"search": "cedar"}, [C]),
        ({"search": "g950002"}, [B]),
        ({"minDaysPastDue": 21}, [C, D]),
        ({"hasDraftLetter": True}, [B]),
        ({"hasDraftLetter": False}, [C, D, A]),
        ({"stages": ["SECOND_NOTICE"], "hasDraftLetter": False}, [D]),
    ],
)
async def test_filters_narrow_the_list(
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
    flt: dict[str, Any],
    expected: list[str],
) -> None:
    await _worklist(sessions)
    worklist = await _read(anonymous, await _rep(tokens), filter=flt)
    assert _numbers(worklist) == expected
    assert worklist["totalCount"] == len(expected)


async def test_totals_per_stage_cover_the_filtered_list_not_the_page(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given
    await _worklist(sessions)
    rep = await _rep(tokens)
    # when a page of one is read, unfiltered and filtered
    everything = await _read(anonymous, rep, first=1)
    late = await _read(anonymous, rep, first=1, filter={"minDaysPastDue": 21})

    # then the totals sum each stage across every page, zeros included
    def totals(worklist: dict[str, Any]) -> list[tuple[str, int, str]]:
        return [(t["stage"], t["groups"], t["pastDueAmount"]["amount"])
                for t in worklist["totals"]]  # fmt: skip

    assert totals(everything) == [
        ("DELINQUENT", 1, _amount(10000)), ("SECOND_NOTICE", 2, _amount(35000)),
        ("SUSPENDED", 1, _amount(20000)), ("TERMINATED", 0, _amount(0)),
    ]  # fmt: skip
    assert totals(late) == [
        ("DELINQUENT", 0, _amount(0)), ("SECOND_NOTICE", 1, _amount(5000)),
        ("SUSPENDED", 1, _amount(20000)), ("TERMINATED", 0, _amount(0)),
    ]  # fmt: skip
    assert everything["totals"][0]["pastDueAmount"]["currency"] == "USD"


async def test_next_actions_follow_drafts_own_thresholds_and_grace_extensions(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given
    await _worklist(sessions)
    rep = await _rep(tokens)

    async def actions() -> dict[str, dict[str, str]]:
        items = _by_number(await _read(anonymous, rep))
        return {number: item["nextAction"] for number, item in items.items()}

    def on(days: int) -> str:
        return (DUE + dt.timedelta(days=days)).isoformat()

    # then: A's second notice by the defaults, B's draft to send, C's termination by its
    # own thresholds (day 90, not 61), D's suspension by the defaults
    assert await actions() == {
        A: {"kind": "SECOND_NOTICE", "date": on(15)},
        B: {"kind": "SEND_LETTER", "date": on(16)},
        C: {"kind": "TERMINATE", "date": on(90)},
        D: {"kind": "SUSPEND", "date": on(31)},
    }
    # when Texas has a grace extension today, and Florida had one that ended yesterday
    async with sessions.begin() as session:
        session.add_all([
            GraceExtension(starts_on=TODAY - dt.timedelta(days=3), ends_on=TODAY,
                           extra_days=7, state="TX", reason="Hurricane"),
            GraceExtension(starts_on=TODAY - dt.timedelta(days=9),
                           ends_on=TODAY - dt.timedelta(days=1), extra_days=30, state="FL",
                           reason="Flood"),
        ])  # fmt: skip
    # then only the Texas group's suspension moves, by 7 days
    moved = await actions()
    assert moved[D] == {"kind": "SUSPEND", "date": on(38)}
    assert moved[C] == {"kind": "TERMINATE", "date": on(90)}


def test_no_next_action_after_termination_and_the_earliest_draft_first() -> None:
    assert next_action(DelinquencyStage.TERMINATED, DUE, DEFAULT, []) is None
    episode = DelinquencyEpisode(id=1, group_id=1, days_past_due=70, past_due_cents=1,
                                 balance_cents=1)  # fmt: skip
    late, early = (_letter(episode, LetterKind.SUSPENSION, sent=False) for _ in range(2))
    early.as_of = DUE
    assert next_action(DelinquencyStage.TERMINATED, DUE, DEFAULT, [late, early]) == NextAction(
        NextActionKind.SEND_LETTER, DUE
    )


async def test_nobody_but_a_representative_sees_the_worklist(
    anonymous: httpx.AsyncClient, tokens: Tokens, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given
    await _worklist(sessions)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    # when a benefit leader asks, then it is FORBIDDEN
    refused = await graphql(anonymous, WORKLIST, token=leader)
    assert graphql_errors(refused)[0]["extensions"]["code"] == "FORBIDDEN"
    # and an item found by its id is the rep's only
    rep = await _rep(tokens)
    item_id = (await _read(anonymous, rep))["edges"][0]["node"]["id"]
    as_rep = graphql_ok(await graphql(anonymous, NODE, {"id": item_id}, token=rep))
    assert as_rep["node"] == {"group": {"groupNumber": C}, "nextAction": {"kind": "TERMINATE"}}
    as_leader = graphql_ok(await graphql(anonymous, NODE, {"id": item_id}, token=leader))
    assert as_leader["node"] is None


async def _fifty_on_the_worklist(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Fifty groups, each with an OPEN episode and a sent first notice (set-based)."""
    async with sessions.begin() as session:
        await session.execute(insert(Group), [
            {"group_number": f"G96{n:04d}", "name": f"Worklist Employer {n}",
             "address_line1": "1 Main St", "city": "Columbus", "state": "OH",
             "postal_code": "43004", "status": GroupStatus.DELINQUENT,
             "billing_mode": BillingMode.LIST_BILL, "effective_date": dt.date(2026, 1, 1)}
            for n in range(50)
        ])  # fmt: skip
        groups = (await session.scalars(
            select(Group.id).where(Group.group_number.startswith("G96")))).all()  # fmt: skip
        for n, group_id in enumerate(groups):
            case = Case("", "", "OH", DelinquencyStage.DELINQUENT, n + 1, 1000 * (n + 1), 20)
            session.add(_episode(group_id, case, EpisodeStatus.OPEN))
        await session.flush()
        episodes = (await session.scalars(select(DelinquencyEpisode))).all()
        session.add_all(_letter(e, LetterKind.FIRST_NOTICE, sent=True) for e in episodes)


async def test_the_statements_do_not_grow_with_the_page(
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
    statements: StatementCounter,
) -> None:
    # given fifty groups on the worklist
    await _fifty_on_the_worklist(sessions)
    rep = await _rep(tokens)
    counts = []
    for first in (5, 50):
        # when a page is read with everything on it
        statements.reset()
        worklist = await _read(anonymous, rep, first=first)
        counts.append(statements.count)
        assert len(worklist["edges"]) == first
        assert all(e["node"]["lastLetter"] and e["node"]["nextAction"] for e in worklist["edges"])
    # then the statements are the same for 5 and for 50 (the page, its letters, two for
    # the thresholds, the count and the totals, besides authentication)
    assert counts[0] == counts[1], counts
