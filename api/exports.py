"""What the CSV download routes share: bearer authentication with the API's rules, JSON
errors shaped like GraphQL's, and CSV that a spreadsheet cannot run (OWASP "CSV
Injection"). Downloads carry PHI: attachments, ``Cache-Control: no-store``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.auth.access_tokens import TokenIssuer
from api.auth.authenticate import NotAuthenticatedError, authenticate
from api.auth.principal import Principal
from api.services.audit import Actor, AuditTrail, RequestOrigin

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRefusedError(Exception):
    """The request gets ``response`` instead of a CSV."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def principal_with(
    session: AsyncSession, issuer: TokenIssuer, request: Request, scope: str
) -> Principal:
    """401 without a usable token, 403 without ``scope``."""
    try:
        principal = await authenticate(session, issuer, request.headers.get("authorization"))
    except NotAuthenticatedError as exc:
        raise ExportRefusedError(unauthenticated(str(exc))) from exc
    if not principal.has_scope(scope):
        message = f"You do not have permission for this ({scope})."
        raise ExportRefusedError(error(403, "FORBIDDEN", message))
    return principal


async def audit_download(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    action: str,
    *,
    target: tuple[str, str],
    changes: Mapping[str, object],
) -> None:
    """One event for the download, committed before any row leaves (SPEC §2 Audit)."""
    trail = AuditTrail(
        actor=Actor(user_id=principal.user_id, client_id=principal.client_id),
        origin=RequestOrigin(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent", "")[:400] or None,
            request_id=request.scope.get("state", {}).get("request_id"),
        ),
    )
    trail.record(action, target_type=target[0], target_id=target[1], changes=changes)
    await trail.flush(session)
    await session.commit()


def csv_attachment(body: AsyncIterator[str], filename: str) -> StreamingResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


def safe_cell(value: object) -> str:
    """The value as CSV text, neutralised when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_chunk(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def error(status: int, code: str, message: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def unauthenticated(message: str) -> JSONResponse:
    response = error(401, "UNAUTHENTICATED", message)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response
