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

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.auth.access_tokens import TokenIssuer
from api.auth.authenticate import NotAuthenticatedError, authenticate
from api.auth.policy import ELIGIBILITY_READ
from api.auth.principal import Principal
from api.services.audit import Actor, AuditTrail, RequestOrigin
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
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRefusedError(Exception):
    """The request gets ``response`` instead of a CSV."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


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
            await _audit(session, request, principal, group, day)
        except ExportRefusedError as refused:
            await session.close()
            return refused.response
        except BaseException:
            await session.close()
            raise
        return _csv_response(_stream(session, principal, group, day), group.group_number)

    return Route("/exports/roster.csv", roster_csv, methods=["GET"])


def _arguments(request: Request) -> tuple[str, dt.date | None]:
    group_number = request.query_params.get("groupNumber", "").strip().upper()
    if not group_number:
        raise ExportRefusedError(_error(400, "BAD_REQUEST", "Give `groupNumber`, e.g. G100234."))
    covered_on = request.query_params.get("coveredOn")
    try:
        return group_number, None if not covered_on else dt.date.fromisoformat(covered_on)
    except ValueError as exc:
        message = "`coveredOn` must be a date as YYYY-MM-DD."
        raise ExportRefusedError(_error(400, "BAD_REQUEST", message)) from exc


async def _authorize(
    session: AsyncSession, issuer: TokenIssuer, request: Request, group_number: str
) -> tuple[Principal, Group]:
    """401 without a usable token, 403 without ``eligibility:read``, 404 for a group that
    does not exist or whose roster the caller may not read."""
    try:
        principal = await authenticate(session, issuer, request.headers.get("authorization"))
    except NotAuthenticatedError as exc:
        raise ExportRefusedError(_unauthenticated(str(exc))) from exc
    if not principal.has_scope(ELIGIBILITY_READ):
        message = f"You do not have permission for this ({ELIGIBILITY_READ})."
        raise ExportRefusedError(_error(403, "FORBIDDEN", message))
    stmt = scoped(select(Group), principal, Group.id, ELIGIBILITY)
    group = await session.scalar(stmt.where(Group.group_number == group_number))
    if group is None:
        raise ExportRefusedError(_error(404, "NOT_FOUND", f"No group {group_number}."))
    return principal, group


async def _audit(
    session: AsyncSession, request: Request, principal: Principal, group: Group, day: dt.date | None
) -> None:
    """One ``member.export`` event, committed before any row leaves."""
    trail = AuditTrail(
        actor=Actor(user_id=principal.user_id, client_id=principal.client_id),
        origin=RequestOrigin(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent", "")[:400] or None,
            request_id=request.scope.get("state", {}).get("request_id"),
        ),
    )
    changes = {"coveredOn": None if day is None else day.isoformat(), "format": "csv"}
    trail.record(
        "member.export", target_type="Group", target_id=group.group_number, changes=changes
    )
    await trail.flush(session)
    await session.commit()


async def _stream(
    session: AsyncSession, principal: Principal, group: Group, covered_on: dt.date | None
) -> AsyncIterator[str]:
    """The header, then one CSV chunk per keyset batch; closes the session at the end."""
    flt = MemberFilter(covered_on=covered_on, ssn_search=ssn_searchable(principal))
    batches = export_rows(session, principal, group_id=group.id, flt=flt, day=covered_on or today())
    try:
        yield _csv([COLUMNS])
        async for batch in batches:
            yield _csv(_cells(row) for row in batch)
    finally:
        await session.close()


def _csv_response(body: AsyncIterator[str], group_number: str) -> StreamingResponse:
    filename = f"roster-{group_number}.csv"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


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


def safe_cell(value: object) -> str:
    """The value as CSV text, neutralised when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _unauthenticated(message: str) -> JSONResponse:
    response = _error(401, "UNAUTHENTICATED", message)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response
