"""Outbound mail as a transactional outbox: record the message in the transaction that
creates what it announces, send it afterwards (issue "outbound mail component").

``enqueue_email`` only adds a row to the caller's session, so the message commits or rolls
back with the invitation, invoice or letter it announces. ``deliver_due`` sends what is due,
outside any database transaction, and is safe to run from several workers at once: each
message is claimed by a conditional UPDATE before it is sent, so a concurrent worker or a
restart never sends it twice, and a failed send is retried with backoff, then marked
``FAILED`` where people can see it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, cast

import aiosmtplib
import structlog
from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.dates import utc_now
from api.settings import Settings
from db.models import EmailStatus, OutboundEmail

logger = structlog.get_logger(__name__)

LEASE = dt.timedelta(minutes=5)
"""How long a claimed message is reserved for the worker that claimed it. A worker that
dies mid-send leaves the message due again after the lease (at-least-once, not lost)."""
SEND_TIMEOUT_SECONDS = 30.0
"""Well inside ``LEASE``: a send never outlives its claim."""
MAX_RETRY_DELAY = dt.timedelta(hours=1)
ERROR_CHARS = 2_000


class InvalidEmailError(ValueError):
    """The message cannot be recorded: a bad address, or a header value with CR/LF."""


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver_due`` pass did: sent, failed and scheduled again, failed for good."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def enqueue_email(
    session: AsyncSession,
    *,
    kind: str,
    to: str,
    subject: str,
    body_text: str,
    related_type: str | None = None,
    related_id: str | None = None,
    now: dt.datetime | None = None,
) -> OutboundEmail:
    """Add a PENDING message, due at once, to the caller's transaction. Nothing is sent here:
    the message exists only if the caller commits (the transactional outbox)."""
    _check_address(to)
    _check_header_value("subject", subject)
    _check_length("subject", subject, 300)
    email = OutboundEmail(
        kind=kind,
        to_address=to,
        subject=subject,
        body_text=body_text,
        status=EmailStatus.PENDING,
        attempts=0,
        next_attempt_at=now or utc_now(),
        related_type=related_type,
        related_id=related_id,
    )
    session.add(email)
    return email


def _check_address(to: str) -> None:
    """One mailbox, ``local@domain``: a second "@" (a second recipient), whitespace or a
    control character (header injection, RFC 5322 §2.2) is refused."""
    _check_header_value("to", to)
    _check_length("to", to, 320)
    local, _, domain = to.partition("@")
    odd = any(char.isspace() or ord(char) < 32 or char in ",;<>" for char in to)
    if odd or not local or not domain or "@" in domain:
        raise InvalidEmailError(f"{to!r} is not one email address (local@domain).")


def _check_header_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise InvalidEmailError(f"The {name} must be on one line (no CR or LF).")


def _check_length(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidEmailError(f"The {name} is longer than {limit} characters.")


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the ``attempts``-th failed send: 1, 2, 4, 8… minutes,
    at most an hour."""
    doublings = min(max(attempts, 1) - 1, 6)  # 2**6 minutes already exceeds the cap
    return min(dt.timedelta(minutes=2**doublings), MAX_RETRY_DELAY)


async def latest_emails(session: AsyncSession, *, limit: int = 20) -> list[OutboundEmail]:
    """The most recently recorded messages, newest first (``portal outbox``, the demo)."""
    rows = await session.scalars(
        select(OutboundEmail)
        .order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
        .limit(limit)
    )
    return list(rows)


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    limit: int = 50,
) -> DeliveryReport:
    """Send up to ``limit`` due messages, each claimed, sent and recorded on its own.

    In ``mail_mode == "outbox"`` (development) nothing leaves the machine: the table *is*
    the mailbox, and a due message is "delivered" by marking it SENT there, readable with
    ``portal outbox``.
    """
    now = now or utc_now()
    outcomes = [
        await _deliver_one(sessions, settings, email, now)
        for email in await _due(sessions, now, limit)
    ]
    return DeliveryReport(
        sent=outcomes.count(EmailStatus.SENT),
        retried=outcomes.count(EmailStatus.PENDING),
        failed=outcomes.count(EmailStatus.FAILED),
    )


async def _due(
    sessions: async_sessionmaker[AsyncSession], now: dt.datetime, limit: int
) -> list[OutboundEmail]:
    """A snapshot of due messages; each is claimed afterwards, so reading is not a claim."""
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.PENDING)
            .where(OutboundEmail.next_attempt_at <= now)
            .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id)
            .limit(limit)
        )
        return list(rows)


async def _deliver_one(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    email: OutboundEmail,
    now: dt.datetime,
) -> EmailStatus | None:
    """Claim, send outside any transaction, record. None when another worker has it."""
    if email.attempts >= settings.mail_max_attempts:
        return await _give_up(sessions, email)
    if not await _claim(sessions, email, now):
        return None
    attempt = email.attempts + 1
    error = await _send(settings, email, now)
    kept = _kept_body(settings, email)
    if error is None:
        return await _record(
            sessions, email, attempt, status=EmailStatus.SENT, sent_at=now, body_text=kept
        )
    if attempt >= settings.mail_max_attempts:
        return await _record(
            sessions, email, attempt, status=EmailStatus.FAILED, error=error, body_text=kept
        )
    return await _record(
        sessions, email, attempt, error=error, next_attempt_at=now + retry_delay(attempt)
    )


ONE_TIME_TOKEN = re.compile(r"([?&]token=)[^\s&]+")
REDACTED = "[removed once sent]"


def _kept_body(settings: Settings, email: OutboundEmail) -> str:
    """The body kept once a message is sent or has failed for good: one-time link tokens
    (invitations, password resets) are removed, so a finished message holds no usable link
    (the links themselves are stored only hashed). Until then the body must keep the token
    to be sent. Development's outbox is the mailbox and keeps them."""
    if settings.mail_mode == "outbox":
        return email.body_text
    return ONE_TIME_TOKEN.sub(rf"\1{REDACTED}", email.body_text)


async def _claim(
    sessions: async_sessionmaker[AsyncSession], email: OutboundEmail, now: dt.datetime
) -> bool:
    """Count the attempt and lease the message, if it is still as we read it. Only one of
    several concurrent claims matches ``attempts == seen``; the others change no row."""
    return await _update_if_unchanged(
        sessions, email, email.attempts, attempts=email.attempts + 1, next_attempt_at=now + LEASE
    )


async def _give_up(
    sessions: async_sessionmaker[AsyncSession], email: OutboundEmail
) -> EmailStatus | None:
    """The last attempt was claimed but its outcome never recorded (the worker stopped
    mid-send): no attempts are left, so the message fails visibly rather than looping."""
    error = "the last attempt was interrupted before its outcome was recorded"
    changed = await _update_if_unchanged(
        sessions, email, email.attempts, status=EmailStatus.FAILED, last_error=error
    )
    return EmailStatus.FAILED if changed else None


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    email: OutboundEmail,
    attempt: int,
    *,
    status: EmailStatus = EmailStatus.PENDING,
    error: str | None = None,
    **values: Any,
) -> EmailStatus | None:
    """Store the outcome of the attempt this worker claimed."""
    if not await _update_if_unchanged(
        sessions, email, attempt, status=status, last_error=error, **values
    ):
        return None
    logger.info("mail.attempt", email_id=email.id, kind=email.kind, status=str(status))
    return status


async def _update_if_unchanged(
    sessions: async_sessionmaker[AsyncSession],
    email: OutboundEmail,
    seen_attempts: int,
    **values: Any,
) -> bool:
    """One short transaction: UPDATE the message only while it is PENDING with
    ``seen_attempts`` attempts; True when this call changed it."""
    statement: Update = (
        update(OutboundEmail)
        .where(OutboundEmail.id == email.id)
        .where(OutboundEmail.status == EmailStatus.PENDING)
        .where(OutboundEmail.attempts == seen_attempts)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    async with sessions.begin() as session:
        result = cast(CursorResult[Any], await session.execute(statement))
        return result.rowcount == 1


async def _send(settings: Settings, email: OutboundEmail, now: dt.datetime) -> str | None:
    """Hand the message to the SMTP server (none in outbox mode); the error text, if any."""
    if settings.mail_mode == "outbox":
        return None
    try:
        await _smtp_send(settings, build_message(settings, email, now))
    except Exception as exc:  # one message's failure is recorded on it; the pass goes on
        logger.warning("mail.send_failed", email_id=email.id, error=type(exc).__name__)
        return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    return None


async def _smtp_send(settings: Settings, message: EmailMessage) -> None:
    password = settings.smtp_password
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password.get_secret_value() if password else None,
        start_tls=settings.smtp_starttls,
        timeout=SEND_TIMEOUT_SECONDS,
    )


def build_message(settings: Settings, email: OutboundEmail, now: dt.datetime) -> EmailMessage:
    """A text/plain UTF-8 message. The Message-ID depends only on the row, so a retry of a
    message the server did accept is recognisably the same message (RFC 5322 §3.6.4)."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    stamp = int(email.created_at.timestamp())
    message["Message-ID"] = f"<outbound-{email.id}.{stamp}@{_sender_domain(settings)}>"
    message.set_content(email.body_text, charset="utf-8")
    return message


def _sender_domain(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
