"""How often access issues may be reported (SPEC §2 Web access: "rate-limited"): per
client IP (5 per 15 minutes by default) and per reporter email (3 per hour), counted in
the database so every replica counts together (``api.services.rate_limits``).

Every attempt counts against both, and the caller commits the counts before it looks at
the report: an invalid or refused report still uses up the sender's allowance, so
flooding with bad input gets nowhere either.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.rate_limits import Limit, Verdict, hit
from api.services.users import email_key
from api.settings import Settings

IP_LIMIT = "access-report:ip"
EMAIL_LIMIT = "access-report:email"


def report_limits(settings: Settings) -> tuple[Limit, Limit]:
    """The per-IP and the per-email limit, from the settings."""
    return (
        Limit(
            IP_LIMIT,
            settings.access_report_ip_limit,
            dt.timedelta(seconds=settings.access_report_ip_window_seconds),
        ),
        Limit(
            EMAIL_LIMIT,
            settings.access_report_email_limit,
            dt.timedelta(seconds=settings.access_report_email_window_seconds),
        ),
    )


async def admit_report(
    session: AsyncSession, settings: Settings, *, ip: str | None, email: str, now: dt.datetime
) -> Verdict:
    """Count one report against its IP and its email; refused when either is over its
    limit, retrying when both allow it again. The caller commits at once."""
    by_ip, by_email = report_limits(settings)
    verdicts = []
    if ip:
        verdicts.append(await hit(session, by_ip, ip, now))
    if email.strip():
        verdicts.append(await hit(session, by_email, email_key(email), now))
    refused = [verdict.retry_after_seconds for verdict in verdicts if not verdict.allowed]
    return Verdict(False, max(refused)) if refused else Verdict(True, 0)


def retry_message(seconds: int) -> str:
    """What a refused reporter reads: when to try again, in seconds and minutes."""
    minutes = max(1, -(-seconds // 60))
    return (
        f"Too many reports from you in a short time. Try again in {seconds} seconds "
        f"(about {minutes} minute{'s' if minutes != 1 else ''})."
    )
