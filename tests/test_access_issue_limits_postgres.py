"""The report limiter under real concurrency on PostgreSQL (issue 9: limits that "hold
across several server replicas"): ten reports from one IP at once, limit five, exactly
five get through. The rows are committed for real, so the test removes them after."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import String, cast, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.access_issue_limits import IP_LIMIT, admit_report
from api.services.access_issues import Report, report
from api.services.dates import utc_now
from api.settings import Settings
from db.models import AccessIssue, OutboundEmail, RateLimitCounter

pytestmark = pytest.mark.postgres_only


async def _attempt(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, ip: str, n: int
) -> str | None:
    """One report in its own transaction, as one request on some replica would make it."""
    email = f"flood{n}.{ip}@acme.example"
    async with sessions() as session:
        verdict = await admit_report(session, settings, ip=ip, email=email, now=utc_now())
        await session.commit()
        if not verdict.allowed:
            return None
        sent = Report("CANT_LOG_IN", "Flooding the report form on purpose.", email, "Flood")
        issue = await report(
            session, sent=sent, reporter=None, ip=ip, settings=settings, now=utc_now()
        )
        await session.commit()
        return issue.reference


async def _remove(sessions: async_sessionmaker[AsyncSession], ip: str) -> None:
    async with sessions() as session:
        ids = select(cast(AccessIssue.id, String)).where(AccessIssue.ip == ip)
        await session.execute(
            delete(OutboundEmail).where(
                OutboundEmail.related_type == "AccessIssue", OutboundEmail.related_id.in_(ids)
            )
        )
        await session.execute(delete(AccessIssue).where(AccessIssue.ip == ip))
        await session.execute(
            delete(RateLimitCounter).where(RateLimitCounter.key.like(f"access-report:%{ip}%"))
        )
        await session.commit()


async def test_ten_concurrent_reports_from_one_ip_let_exactly_five_through(
    committing: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ip = f"test-{uuid.uuid4().hex[:12]}"  # this test's own "address": no other counts
    try:
        outcomes = await asyncio.gather(*(_attempt(committing, settings, ip, n) for n in range(10)))
        assert sum(reference is not None for reference in outcomes) == 5
        async with committing() as session:
            count = await session.scalar(
                select(RateLimitCounter.count).where(RateLimitCounter.key == f"{IP_LIMIT}:{ip}")
            )
        assert count == 10
    finally:
        await _remove(committing, ip)
