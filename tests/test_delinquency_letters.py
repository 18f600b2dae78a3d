"""Delinquency letters over HTTP (SPEC §2 Delinquency: "Letters are drafted as documents
(PDF) from templates, reviewed and sent by a rep"; SPEC §3): the text states the amounts
and dates, a rep edits the note and sends the letter once to the group's contacts (a real
SMTP server on loopback), a SENT letter never changes, and the group sees its sent
letters and their PDFs, never a draft nor another group's letter."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.delinquency_letter_routes import letter_content
from api.documents.delinquency_letter_pdf import render_letter
from api.services.dates import utc_now
from api.services.delinquency import letter_sending, letters
from api.services.delinquency.letter_text import render
from api.services.mail import deliver_due
from api.services.rules import RuleViolation
from api.settings import Settings
from db.models import (
    AuditEvent,
    ContactKind,
    DelinquencyEpisode,
    DelinquencyLetter,
    DelinquencyStage,
    EpisodeStatus,
    Group,
    GroupContact,
    LetterKind,
    LetterStatus,
    OutboundEmail,
)
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok
from tests.ledger_support import trail

OWN, OTHER = "G100001", "G100002"  # viewer@demo.test has billing VIEW of G100001 only
FACTS = letters.LetterFacts(
    as_of=dt.date(2026, 12, 2), days_past_due=31, past_due_cents=123450, balance_cents=250000,
    past_due_since=dt.date(2026, 11, 1), paid_through_date=dt.date(2026, 10, 31),
    action_date=dt.date(2027, 1, 1),
)  # fmt: skip
CONTACTS = (
    (ContactKind.BILLING, "Bill Payer", "ap@letters-test.example"),
    (ContactKind.BENEFIT_LEADER, "Hana Leader", "hr@letters-test.example"),
    (ContactKind.SALES_REPRESENTATIVE, "Sal Rep", "sales@letters-test.example"),
)

LETTER = """
query ($id: ID!) {
  node(id: $id) {
    ... on DelinquencyLetter {
      id kind status asOf daysPastDue pastDueSince paidThroughDate actionDate note sentAt
      pastDueAmount { amount currency } balance { amount currency } subject body pdfPath
      group { groupNumber }
    }
  }
}
"""
GROUP_LETTERS = """
query ($id: ID!) {
  node(id: $id) {
    ... on Group { delinquencyLetters(first: 10) { totalCount edges { node { id status } } } }
  }
}
"""
EDIT = """
mutation ($input: DelinquencyLetterEditInput!) {
  delinquencyLetterEdit(input: $input) { letter { id note } userErrors { code field message } }
}
"""
SEND = """
mutation ($input: DelinquencyLetterSendInput!) {
  delinquencyLetterSend(input: $input) {
    letter { id status sentAt } userErrors { code field message }
  }
}
"""


@dataclass
class Mailbox:
    """What the loopback SMTP server received: (envelope recipients, parsed message)."""

    port: int
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        box = Mailbox(port=int(sock.getsockname()[1]))
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def smtp(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(
        update={"mail_mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": mailbox.port}
    )


async def _group(session: AsyncSession, number: str) -> Group:
    group = await session.scalar(select(Group).where(Group.group_number == number))
    assert group is not None
    return group


async def drafted(
    sessions: async_sessionmaker[AsyncSession],
    number: str = OWN,
    kind: LetterKind = LetterKind.SUSPENSION,
    *,
    contacts: bool = True,
) -> str:
    """A DRAFT letter of ``kind`` for an open episode of the group; its global ID."""
    async with sessions.begin() as session:
        group = await _group(session, number)
        await session.execute(delete(GroupContact).where(GroupContact.group_id == group.id))
        if contacts:
            session.add_all(
                GroupContact(
                    group_id=group.id, kind=kind_, name=name, email=address, email_key=address
                )
                for kind_, name, address in CONTACTS
            )
        episode = DelinquencyEpisode(
            group_id=group.id, status=EpisodeStatus.OPEN, stage=DelinquencyStage.SUSPENDED,
            past_due_since=FACTS.past_due_since, opened_on=dt.date(2026, 11, 2),
            assessed_on=FACTS.as_of, oldest_due_date=FACTS.past_due_since,
            days_past_due=FACTS.days_past_due, past_due_cents=FACTS.past_due_cents,
            balance_cents=FACTS.balance_cents, paid_through_date=FACTS.paid_through_date,
        )  # fmt: skip
        session.add(episode)
        await session.flush()
        letter = await letters.draft(session, episode, kind, FACTS)
        assert letter is not None
        return global_id("DelinquencyLetter", letter.id)


async def viewer(tokens: Tokens) -> str:
    return await tokens.for_user("viewer@demo.test", ALL_SCOPES)


async def letter_of(client: httpx.AsyncClient, gid: str, token: str | None = None) -> Any:
    return graphql_ok(await graphql(client, LETTER, {"id": gid}, token=token))["node"]


async def mutate(client: httpx.AsyncClient, operation: str, **input: Any) -> dict[str, Any]:
    data = graphql_ok(await graphql(client, operation, {"input": input}))
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


def _node_id(gid: str) -> str:
    return base64.b64decode(gid).decode().partition(":")[2]


def pdf_path(gid: str) -> str:
    return f"/documents/delinquency-letters/{_node_id(gid)}.pdf"


async def emails_of(sessions: async_sessionmaker[AsyncSession], gid: str) -> int:
    async with sessions() as session:
        stmt = select(func.count()).where(OutboundEmail.related_type == "DelinquencyLetter",
                                          OutboundEmail.related_id == _node_id(gid))  # fmt: skip
        return int(await session.scalar(stmt) or 0)


async def test_the_letter_states_the_amounts_and_dates(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given a drafted suspension letter
    gid = await drafted(sessions)
    # when a rep reads it
    letter = await letter_of(client, gid)
    # then the facts are there as data and in the text, exact to the cent
    assert (letter["kind"], letter["status"], letter["daysPastDue"]) == ("SUSPENSION", "DRAFT", 31)
    assert letter["pastDueAmount"] == {"amount": "1234.50", "currency": "USD"}
    assert letter["balance"]["amount"] == "2500.00"
    assert (letter["pastDueSince"], letter["paidThroughDate"]) == ("2026-11-01", "2026-10-31")
    assert letter["actionDate"] == "2027-01-01"
    assert letter["group"] == {"groupNumber": OWN}
    assert "suspended" in letter["subject"].lower()
    assert OWN in letter["subject"]
    body = letter["body"]
    facts = ("$1,234.50", "$2,500.00", "November 1, 2026", "31 days", "October 31, 2026",
             "December 2, 2026", "January 1, 2027", "claims for your members pend")  # fmt: skip
    for fact in facts:
        assert fact in body, fact


async def test_a_reviewed_letter_is_emailed_once_to_the_group_and_copied_to_its_sales_rep(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    smtp: Settings,
    mailbox: Mailbox,
) -> None:
    # given a draft whose note the rep rewrites
    gid = await drafted(sessions)
    note = "Please call Rita at 1-800-555-0199 to arrange a payment plan."
    edited = await mutate(client, EDIT, letterId=gid, note=note)
    assert edited["userErrors"] == []
    assert edited["letter"]["note"] == note
    # when the rep sends it and the outbox is delivered
    sent = await mutate(client, SEND, letterId=gid)
    await deliver_due(sessions, smtp, limit=1_000)
    # then billing and the benefit leader have it, with the note, and the sales rep a copy
    assert sent["userErrors"] == []
    assert sent["letter"]["status"] == "SENT"
    assert sent["letter"]["sentAt"] is not None
    for address in ("ap@letters-test.example", "hr@letters-test.example"):
        [message] = mailbox.to(address)
        assert str(message["Subject"]).strip().startswith("Coverage suspended")
        assert note in message.get_content()
        assert "$1,234.50" in message.get_content()
    [copy] = mailbox.to("sales@letters-test.example")
    assert str(copy["Subject"]).strip().startswith("Copy: Coverage suspended")
    assert "ap@letters-test.example" in copy.get_content()
    # and it was audited
    async with sessions() as session:
        audited = await session.scalar(select(func.count()).where(
            AuditEvent.action == "delinquency_letter.send",
            AuditEvent.target_id == _node_id(gid)))  # fmt: skip
    assert audited == 1
    # when it is sent again or edited, then both are refused and no further email goes out
    again = await mutate(client, SEND, letterId=gid)
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_SENT"]
    late = await mutate(client, EDIT, letterId=gid, note="Too late.")
    assert [e["code"] for e in late["userErrors"]] == ["ALREADY_SENT"]
    await deliver_due(sessions, smtp, limit=1_000)
    assert await emails_of(sessions, gid) == 3
    assert len([r for r, _ in mailbox.received if any("letters-test" in a for a in r)]) == 3
    assert (await letter_of(client, gid))["note"] == note


async def test_a_note_longer_than_2000_characters_is_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    gid = await drafted(sessions)
    refused = await mutate(client, EDIT, letterId=gid, note="x" * 2001)
    assert refused["letter"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("NOTE_TOO_LONG", ["note"])]
    assert (await letter_of(client, gid))["note"] is None


async def test_a_group_without_billing_or_leader_contacts_is_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given a draft of a group with no contacts
    gid = await drafted(sessions, contacts=False)
    # when it is sent, then it is refused, says what to do, and nothing changed
    refused = await mutate(client, SEND, letterId=gid)
    assert refused["letter"] is None
    [error] = refused["userErrors"]
    assert error["code"] == "NO_RECIPIENTS"
    assert "add one" in error["message"]
    assert (await letter_of(client, gid))["status"] == "DRAFT"
    assert await emails_of(sessions, gid) == 0


async def test_the_group_sees_its_sent_letters_and_their_pdfs_but_no_drafts(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
) -> None:
    # given a draft of the viewer's own group
    gid, token = await drafted(sessions), await viewer(tokens)
    auth = {"Authorization": f"Bearer {token}"}
    async with sessions() as session:
        group_gid = global_id("Group", (await _group(session, OWN)).id)
    # then the group's user sees nothing of it
    assert await letter_of(anonymous, gid, token) is None
    listed = graphql_ok(await graphql(anonymous, GROUP_LETTERS, {"id": group_gid}, token=token))
    assert listed["node"]["delinquencyLetters"] == {"totalCount": 0, "edges": []}
    assert (await anonymous.get(pdf_path(gid), headers=auth)).status_code == 404
    # when the rep sends it
    assert (await mutate(client, SEND, letterId=gid))["userErrors"] == []
    # then the group's user reads it, lists it and downloads its PDF
    letter = await letter_of(anonymous, gid, token)
    assert (letter["status"], letter["pdfPath"]) == ("SENT", pdf_path(gid))
    listed = graphql_ok(await graphql(anonymous, GROUP_LETTERS, {"id": group_gid}, token=token))
    assert listed["node"]["delinquencyLetters"]["totalCount"] == 1
    response = await anonymous.get(letter["pdfPath"], headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


async def test_another_groups_letter_is_null_and_not_found(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
) -> None:
    # given a SENT letter of a group the viewer has no access to
    gid = await drafted(sessions, OTHER)
    assert (await mutate(client, SEND, letterId=gid))["userErrors"] == []
    token = await viewer(tokens)
    # then it is null to them, and its PDF is "not found", as for no letter at all
    assert await letter_of(anonymous, gid, token) is None
    auth = {"Authorization": f"Bearer {token}"}
    assert (await anonymous.get(pdf_path(gid), headers=auth)).status_code == 404
    missing = "/documents/delinquency-letters/999999999.pdf"
    assert (await anonymous.get(missing, headers=auth)).status_code == 404
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await anonymous.get(pdf_path(gid), headers=bad)).status_code == 401
    # while the rep (``client``: the same app, the rep's token) downloads it
    assert (await client.get(pdf_path(gid))).content.startswith(b"%PDF")


async def test_only_a_representative_edits_or_sends_a_letter(
    anonymous: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tokens: Tokens
) -> None:
    gid = await drafted(sessions)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    for operation, input in ((EDIT, {"letterId": gid, "note": "hi"}), (SEND, {"letterId": gid})):
        response = await graphql(anonymous, operation, {"input": input}, token=leader)
        assert graphql_errors(response)[0]["extensions"]["code"] == "FORBIDDEN"
    async with sessions() as session:
        letter = await session.get_one(DelinquencyLetter, int(_node_id(gid)))
        assert (letter.status.value, letter.note) == ("DRAFT", None)


@pytest.mark.parametrize("kind", list(LetterKind))
async def test_every_kind_renders_with_and_without_its_optional_dates(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, kind: LetterKind
) -> None:
    async with sessions() as session:
        group = await _group(session, OWN)
    for paid_through, action in ((FACTS.paid_through_date, FACTS.action_date), (None, None)):
        letter = DelinquencyLetter(
            id=1, kind=kind, status=LetterStatus.DRAFT, as_of=FACTS.as_of, days_past_due=31,
            past_due_cents=123450, balance_cents=250000, past_due_since=FACTS.past_due_since,
            paid_through_date=paid_through, action_date=action, note="A rep's paragraph.",
            sent_at=None,
        )  # fmt: skip
        text = render(letter, group, settings.carrier_name)
        assert group.name in text.subject
        assert "\n" not in text.subject
        assert "$2,500.00" in text.body
        assert "A rep's paragraph." in text.body
        assert text.body.rstrip().endswith(settings.carrier_name)
        pdf = render_letter(letter_content(letter, group, settings), compress=False)
        assert b"$2,500.00" in pdf
        assert b"DRAFT" in pdf


async def _send_committed(sessions: async_sessionmaker[AsyncSession], letter_id: int) -> list[str]:
    """One rep's send in its own committed transaction; the codes of why it was refused."""
    try:
        async with sessions.begin() as session:
            letter = await letter_sending.locked_letter(session, letter_id)
            await letter_sending.send(session, letter, user_id=None, audit=trail(),
                                      now=utc_now(), carrier="Carrier")  # fmt: skip
    except RuleViolation as refused:
        return [problem.code for problem in refused.problems]
    return []


async def _remove(sessions: async_sessionmaker[AsyncSession], letter_id: int) -> None:
    """What ``drafted`` committed for real, and the emails of the letter."""
    async with sessions.begin() as session:
        letter = await session.get_one(DelinquencyLetter, letter_id)
        await session.execute(delete(OutboundEmail).where(
            OutboundEmail.related_type == "DelinquencyLetter",
            OutboundEmail.related_id == str(letter_id)))  # fmt: skip
        await session.execute(delete(DelinquencyLetter).where(DelinquencyLetter.id == letter_id))
        await session.execute(delete(DelinquencyEpisode).where(
            DelinquencyEpisode.id == letter.episode_id))  # fmt: skip
        await session.execute(delete(GroupContact).where(
            GroupContact.group_id == letter.group_id))  # fmt: skip


@pytest.mark.postgres_only
async def test_two_concurrent_sends_send_one_letter(
    committing: async_sessionmaker[AsyncSession],
) -> None:
    # given a draft committed for real (other transactions must see it to race)
    letter_id = int(_node_id(gid := await drafted(committing, OTHER)))
    try:
        # when two reps send it at the same moment
        outcomes = await asyncio.gather(*(_send_committed(committing, letter_id) for _ in "ab"))
        # then one sends and the other is refused: one set of emails
        assert sorted(outcomes) == [[], ["ALREADY_SENT"]]
        assert await emails_of(committing, gid) == 3
    finally:
        await _remove(committing, letter_id)
