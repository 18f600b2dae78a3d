"""Outbound mail: recorded in the caller's transaction, delivered afterwards to a real SMTP
server on loopback (aiosmtpd), once, retried with backoff, visible when it fails."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.mail_worker import MailWorker
from api.services.mail import (
    DeliveryReport,
    InvalidEmailError,
    deliver_due,
    enqueue_email,
    retry_delay,
)
from api.settings import Settings
from db.migrate import upgrade
from db.models import EmailStatus, OutboundEmail
from db.session import create_engine, create_sessionmaker
from tests.helpers import UNREACHABLE_DATABASE
from tests.live_server import portal_env, run_portal

# Long before anything the seed records: a pass "now" sees only this module's messages.
T0 = dt.datetime(2001, 1, 1, 9, 0, tzinfo=dt.UTC)


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


def _free_port() -> int:
    """A loopback port nobody listens on (a closed port refuses connections at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(
        update={"mail_mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": mailbox.port}
    )


@pytest.fixture
def own_database(tmp_path: Path) -> str:
    """A database of the test's own, for work that needs real separate connections
    (concurrent workers, the app's lifespan): the shared test connection cannot give that."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'mail.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def own_sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(own_database)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _enqueue(
    sessions: async_sessionmaker[AsyncSession], to: str, now: dt.datetime | None = T0
) -> int:
    async with sessions.begin() as session:
        message = enqueue_email(
            session,
            kind="INVITATION",
            to=to,
            subject=f"Your portal invitation, {to}",
            body_text="Hello,\n\nFollow the link to set your password: https://portal.test/x\n",
            related_type="invitation",
            related_id="42",
            now=now,
        )
    return message.id


async def _load(sessions: async_sessionmaker[AsyncSession], email_id: int) -> OutboundEmail:
    async with sessions() as session:
        return await session.get_one(OutboundEmail, email_id)


async def test_a_rolled_back_message_is_never_sent(
    sessions: async_sessionmaker[AsyncSession], smtp_settings: Settings, mailbox: Mailbox
) -> None:
    # given a message recorded in a transaction that then fails
    async with sessions() as session:
        enqueue_email(session, kind="INVITATION", to="gone@acme.test", subject="Hi", body_text=".")
        await session.flush()
        await session.rollback()
    # when
    report = await deliver_due(sessions, smtp_settings, now=T0)
    # then
    assert report == DeliveryReport()
    assert mailbox.received == []


async def test_a_committed_message_is_delivered_once_and_marked_sent(
    sessions: async_sessionmaker[AsyncSession], smtp_settings: Settings, mailbox: Mailbox
) -> None:
    # given
    email_id = await _enqueue(sessions, "hana@acme.test")
    # when two passes run, one after the other
    first = await deliver_due(sessions, smtp_settings, now=T0)
    second = await deliver_due(sessions, smtp_settings, now=T0 + dt.timedelta(hours=2))
    # then
    assert (first, second) == (DeliveryReport(sent=1), DeliveryReport())
    [(recipients, message)] = mailbox.received
    assert recipients == ["hana@acme.test"]
    assert message["To"] == "hana@acme.test"
    assert message["From"] == smtp_settings.mail_from
    assert message["Subject"] == "Your portal invitation, hana@acme.test"
    assert message["Message-ID"].startswith(f"<outbound-{email_id}.")
    body = message.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends
    assert body.startswith("Hello,\n\nFollow the link to set your password")
    row = await _load(sessions, email_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (
        EmailStatus.SENT,
        1,
        T0,
        None,
    )


async def test_concurrent_passes_send_each_message_once(
    own_sessions: async_sessionmaker[AsyncSession], smtp_settings: Settings, mailbox: Mailbox
) -> None:
    # given five due messages and three workers racing for them on separate connections
    addresses = [f"member{n}@acme.test" for n in range(5)]
    for address in addresses:
        await _enqueue(own_sessions, address)
    # when
    reports = await asyncio.gather(
        *(deliver_due(own_sessions, smtp_settings, now=T0) for _ in range(3))
    )
    # then
    assert sum(report.sent for report in reports) == 5
    assert sorted(rcpt for rcpts, _ in mailbox.received for rcpt in rcpts) == addresses


async def test_an_unreachable_server_is_retried_with_backoff_then_fails_visibly(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given an SMTP server that is down, and three attempts allowed
    down = settings.model_copy(
        update={"mail_mode": "smtp", "smtp_port": _free_port(), "mail_max_attempts": 3}
    )
    email_id = await _enqueue(sessions, "hana@acme.test")
    # when the first attempt fails
    assert await deliver_due(sessions, down, now=T0) == DeliveryReport(retried=1)
    # then it waits a minute, with the reason recorded
    row = await _load(sessions, email_id)
    assert (row.status, row.attempts) == (EmailStatus.PENDING, 1)
    assert row.next_attempt_at == T0 + dt.timedelta(minutes=1)
    assert "SMTPConnect" in (row.last_error or "")
    assert await deliver_due(sessions, down, now=T0 + dt.timedelta(seconds=59)) == DeliveryReport()
    # when the second attempt fails, the wait doubles
    second = T0 + dt.timedelta(minutes=1)
    assert await deliver_due(sessions, down, now=second) == DeliveryReport(retried=1)
    row = await _load(sessions, email_id)
    assert row.next_attempt_at == second + dt.timedelta(minutes=2)
    # when the last attempt fails, the message is FAILED and no longer due
    third = second + dt.timedelta(minutes=2)
    assert await deliver_due(sessions, down, now=third) == DeliveryReport(failed=1)
    row = await _load(sessions, email_id)
    assert (row.status, row.attempts, row.sent_at) == (EmailStatus.FAILED, 3, None)
    assert row.last_error
    assert await deliver_due(sessions, down, now=third + dt.timedelta(days=1)) == DeliveryReport()


def test_retry_delay_doubles_from_a_minute_up_to_an_hour() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 10)]
    assert [delay.total_seconds() / 60 for delay in delays] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_a_last_attempt_interrupted_mid_send_fails_instead_of_looping(
    sessions: async_sessionmaker[AsyncSession], smtp_settings: Settings, mailbox: Mailbox
) -> None:
    # given a message whose last attempt was claimed, but whose worker stopped (lease over)
    email_id = await _enqueue(sessions, "hana@acme.test")
    async with sessions.begin() as session:
        attempts = smtp_settings.mail_max_attempts
        await session.execute(
            update(OutboundEmail).where(OutboundEmail.id == email_id).values(attempts=attempts)
        )
    # when
    report = await deliver_due(sessions, smtp_settings, now=T0)
    # then
    assert report == DeliveryReport(failed=1)
    assert mailbox.received == []
    row = await _load(sessions, email_id)
    assert row.status == EmailStatus.FAILED
    assert "interrupted" in (row.last_error or "")


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("hana@acme.test\r\nBcc: everyone@acme.test", "Hello"),
        ("hana@acme.test", "Hello\r\nBcc: everyone@acme.test"),
        ("hana@acme.test", "Hello\nX-Injected: yes"),
        ("hana@acme.test, eve@evil.test", "Hello"),
        ("hana@acme.test@evil.test", "Hello"),
        ("not-an-address", "Hello"),
        ("@acme.test", "Hello"),
    ],
)
async def test_header_injection_and_bad_addresses_are_refused(
    sessions: async_sessionmaker[AsyncSession], to: str, subject: str
) -> None:
    async with sessions() as session:
        with pytest.raises(InvalidEmailError):
            enqueue_email(session, kind="INVITATION", to=to, subject=subject, body_text=".")
        assert not session.new


async def test_outbox_mode_keeps_mail_in_the_table_without_any_network(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given development's outbox mode, and no SMTP server anywhere
    outbox = settings.model_copy(update={"mail_mode": "outbox", "smtp_port": _free_port()})
    email_id = await _enqueue(sessions, "hana@acme.test")
    # when
    report = await deliver_due(sessions, outbox, now=T0)
    # then
    assert report == DeliveryReport(sent=1)
    row = await _load(sessions, email_id)
    assert (row.status, row.sent_at, row.last_error) == (EmailStatus.SENT, T0, None)
    assert row.body_text.startswith("Hello,")


async def _wait_for(condition: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_worker_delivers_in_the_background(
    sessions: async_sessionmaker[AsyncSession], smtp_settings: Settings, mailbox: Mailbox
) -> None:
    # given a message due now
    email_id = await _enqueue(sessions, "worker@acme.test", now=None)
    worker = MailWorker(sessions, smtp_settings, interval=0.05)
    # when
    worker.start()
    await _wait_for(lambda: mailbox.to("worker@acme.test"))
    await worker.stop()
    # then
    assert not worker.running
    assert len(mailbox.to("worker@acme.test")) == 1
    assert (await _load(sessions, email_id)).status == EmailStatus.SENT


async def test_a_failing_pass_does_not_stop_the_worker(settings: Settings) -> None:
    # given a database that is down
    engine = create_engine(UNREACHABLE_DATABASE)
    worker = MailWorker(create_sessionmaker(engine), settings, interval=0.01)
    # when
    worker.start()
    await _wait_for(lambda: worker.passes >= 3)
    # then
    assert worker.running
    await worker.stop()
    await engine.dispose()
    assert not worker.running


async def test_the_app_delivers_mail_while_it_runs(
    settings: Settings, own_database: str, own_sessions: async_sessionmaker[AsyncSession]
) -> None:
    # given an app that owns its engine, and a message due now
    app = create_app(settings.model_copy(update={"database_url": own_database}))
    email_id = await _enqueue(own_sessions, "app@acme.test", now=None)
    # when the app runs
    async with app.router.lifespan_context(app):
        await _wait_for_sent(own_sessions, email_id)
    # then (outbox mode): delivered to the table, once
    row = await _load(own_sessions, email_id)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 1)


async def _wait_for_sent(sessions: async_sessionmaker[AsyncSession], email_id: int) -> None:
    deadline = time.monotonic() + 10
    while (await _load(sessions, email_id)).status != EmailStatus.SENT:
        assert time.monotonic() < deadline, "the app's worker did not deliver the message"
        await asyncio.sleep(0.05)


def test_portal_outbox_prints_the_latest_messages(tmp_path: Path) -> None:
    # given a migrated database with one recorded message
    env = {**portal_env(tmp_path), "PORTAL_MAIL_MODE": "outbox"}
    migrated = run_portal(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    asyncio.run(_enqueue_in(env["PORTAL_DATABASE_URL"], "cli@acme.test"))
    # when
    delivered = run_portal(["outbox", "--deliver"], env)
    listed = run_portal(["outbox", "--limit", "5"], env)
    # then
    assert delivered.returncode == 0, delivered.stderr
    assert "sent=1" in delivered.stdout
    assert listed.returncode == 0, listed.stderr
    for text in ("SENT", "attempts=1", "to=cli@acme.test", "Your portal invitation", "link"):
        assert text in listed.stdout


async def _enqueue_in(database_url: str, to: str) -> None:
    engine = create_engine(database_url)
    await _enqueue(create_sessionmaker(engine), to, now=None)
    await engine.dispose()


def test_portal_outbox_on_an_empty_database(tmp_path: Path) -> None:
    env = portal_env(tmp_path)
    assert run_portal(["migrate"], env).returncode == 0
    result = run_portal(["outbox"], env)
    assert result.returncode == 0, result.stderr
    assert "the outbox is empty" in result.stdout
