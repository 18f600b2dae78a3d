"""Shared by the access-issue tests: a loopback SMTP mailbox (aiosmtpd), the report
mutation, and issues made directly through the service."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.access_issues import Report, report
from api.services.dates import utc_now
from api.settings import Settings
from db.models import AccessIssue

REPORT = """
mutation($input: AccessIssueReportInput!) {
  accessIssueReport(input: $input) {
    reference
    userErrors { field message code retryAfterSeconds }
  }
}
"""


def report_input(email_address: str = "pat@acme.example", **changes: Any) -> dict[str, Any]:
    values = {
        "email": email_address,
        "name": "Pat Doe",
        "groupNumber": "G100001",
        "category": "LOCKED_OUT",
        "description": "I typed my password wrong and now the portal says I am locked.",
    }
    return {"input": {**values, **changes}}


@dataclass
class Mailbox:
    """What the loopback SMTP server received, parsed."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.received if message["To"] == address]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def make_issue(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email_address: str = "pat@acme.example",
    now: dt.datetime | None = None,
) -> AccessIssue:
    """An anonymous report, committed (into the test's rolled-back transaction)."""
    sent = Report("LOCKED_OUT", "Locked out after a password change.", email_address, "Pat Doe")
    async with sessions() as session:
        issue = await report(
            session, sent=sent, reporter=None, ip=None, settings=settings, now=now or utc_now()
        )
        await session.commit()
    return issue
