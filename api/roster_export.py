"""``GET /exports/roster.csv?groupNumber=G100001[&coveredOn=2026-11-01]``: a group's roster
as CSV (issue 5), streamed in keyset batches of 500 members and never built in memory.

Authentication is the API's: ``Authorization: Bearer <access token>``, read with
``api.auth.authenticate`` (401 without a usable token). The caller needs ``eligibility:read``
(403 otherwise) and eligibility access to the group: a group the caller cannot see answers
404, exactly like one that does not exist (SPEC §3, no existence leaks). Each export is one
``member.export`` audit event (SPEC §2 Audit), written before the first row is sent.

Rows: every member of the group by last name, first name; with ``coveredOn``, only the
members covered that day. The plan columns describe the span in force on ``coveredOn``
(default today, UTC) and are empty when none is. Columns, in order:

``memberId, subscriberMemberId, relationship, firstName, lastName, dateOfBirth, sex,
ssnLast4, status, planCode, tier, effectiveDate, terminationDate``

``subscriberMemberId`` is the member's own ID for a subscriber. Dates are ISO 8601. Cells
that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a carriage
return) are prefixed with ``'`` (OWASP "CSV Injection"). The response is an attachment and
``Cache-Control: no-store``: it carries PHI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth.access_tokens import TokenIssuer
from api.auth.policy import ELIGIBILITY_READ
from api.auth.principal import Principal
from api.exports import (
    ExportRefusedError,
    audit_download,
    csv_attachment,
    csv_chunk,
    error,
    principal_with,
    safe_cell,
)
from api.services.dates import today
from db.models import Group
from db.queries.members import ELIGIBILITY, MemberFilter, ssn_searchable
from db.queries.roster_export import ExportRow, export_rows
from db.queries.scope import scoped

COLUMNS = (
    "memberId",
    "subscriberMemberId",
    "relationship",
    "firstName",
    "lastName",
    "dateOfBirth",
    "sex",
    "ssnLast4",
    "status",
    "planCode",
    "tier",
    "effectiveDate",
    "terminationDate",
)


def roster_export_route(sessions: async_sessionmaker[AsyncSession], issuer: TokenIssuer) -> Route:
    """The route to mount in the app."""

    async def roster_csv(request: Request) -> Response:
        """The roster of ``groupNumber`` as a CSV attachment (see the module docstring)."""
        try:
            group_number, day = _arguments(request)
        except ExportRefusedError as refused:
            return refused.response
        session = sessions()
        try:
            principal, group = await _authorize(session, issuer, request, group_number)
            changes = {"coveredOn": None if day is None else day.isoformat(), "format": "csv"}
            target = ("Group", group.group_number)
            await audit_download(
                session, request, principal, "member.export", target=target, changes=changes
            )
        except ExportRefusedError as refused:
            await session.close()
            return refused.response
        except BaseException:
            await session.close()
            raise
        return csv_attachment(
            _stream(session, principal, group, day), f"roster-{group.group_number}.csv"
        )

    return Route("/exports/roster.csv", roster_csv, methods=["GET"])


def _arguments(request: Request) -> tuple[str, dt.date | None]:
    group_number = request.query_params.get("groupNumber", "").strip().upper()
    if not group_number:
        raise ExportRefusedError(error(400, "BAD_REQUEST", "Give `groupNumber`, e.g. G100234."))
    covered_on = request.query_params.get("coveredOn")
    try:
        return group_number, None if not covered_on else dt.date.fromisoformat(covered_on)
    except ValueError as exc:
        message = "`coveredOn` must be a date as YYYY-MM-DD."
        raise ExportRefusedError(error(400, "BAD_REQUEST", message)) from exc


async def _authorize(
    session: AsyncSession, issuer: TokenIssuer, request: Request, group_number: str
) -> tuple[Principal, Group]:
    """401 without a usable token, 403 without ``eligibility:read``, 404 for a group that
    does not exist or whose roster the caller may not read."""
    principal = await principal_with(session, issuer, request, ELIGIBILITY_READ)
    stmt = scoped(select(Group), principal, Group.id, ELIGIBILITY)
    group = await session.scalar(stmt.where(Group.group_number == group_number))
    if group is None:
        raise ExportRefusedError(error(404, "NOT_FOUND", f"No group {group_number}."))
    return principal, group


async def _stream(
    session: AsyncSession, principal: Principal, group: Group, covered_on: dt.date | None
) -> AsyncIterator[str]:
    """The header, then one CSV chunk per keyset batch; closes the session at the end."""
    flt = MemberFilter(covered_on=covered_on, ssn_search=ssn_searchable(principal))
    batches = export_rows(session, principal, group_id=group.id, flt=flt, day=covered_on or today())
    try:
        yield csv_chunk([COLUMNS])
        async for batch in batches:
            yield csv_chunk(_cells(row) for row in batch)
    finally:
        await session.close()


def _cells(row: ExportRow) -> list[str]:
    member, coverage = row.member, row.coverage
    values: list[object] = [
        member.member_id,
        row.subscriber_member_id or member.member_id,
        member.relationship,
        member.first_name,
        member.last_name,
        member.date_of_birth,
        member.sex,
        member.ssn_last4,
        member.status,
        row.plan_code,
        None if coverage is None else coverage.tier,
        None if coverage is None else coverage.effective_date,
        None if coverage is None else coverage.termination_date,
    ]
    return [safe_cell(value) for value in values]
