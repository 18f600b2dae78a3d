"""Downloads of the eligibility-file feature (issue: eligibility files):

- ``GET /exports/eligibility-files/{id}/problems.csv``: a file's error report, streamed in
  file order, columns ``position, member, code, message``. Bearer token with
  ``eligibility:read``; a file of a group the caller cannot see is 404, like one that does
  not exist (SPEC §3).
- ``GET /exports/eligibility-files/{id}/999.x12``: the 999 acknowledgment of an X12 file
  (same access; 404 for a CSV file, which has none).
- ``GET /documents/eligibility-template.csv``: the CSV roster template (the header and an
  example family). It holds no data, so it needs no token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
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
)
from api.exports import safe_cell as cell
from api.services.eligibility_files.csv_roster import template
from db.models import EligibilityFile
from db.queries import eligibility_files as queries

REPORT_COLUMNS = ("position", "member", "code", "message")
CHUNK_ROWS = 500


def file_routes(sessions: async_sessionmaker[AsyncSession], issuer: TokenIssuer) -> list[Route]:
    async def report(request: Request) -> Response:
        session = sessions()
        try:
            principal, file_id = await _authorize(session, issuer, request)
            await audit_download(
                session, request, principal, "eligibilityFile.report",
                target=("EligibilityFile", str(file_id)), changes={"format": "csv"},
            )  # fmt: skip
        except ExportRefusedError as refused:
            await session.close()
            return refused.response
        except BaseException:
            await session.close()
            raise
        body = _report_rows(session, principal, file_id)
        return csv_attachment(body, f"eligibility-file-{file_id}-problems.csv")

    async def acknowledgment(request: Request) -> Response:
        async with sessions() as session:
            try:
                _, file_id = await _authorize(session, issuer, request)
            except ExportRefusedError as refused:
                return refused.response
            file = await session.get_one(EligibilityFile, file_id)
        if file.acknowledgment is None:
            return error(404, "NOT_FOUND", "This file has no 999: it was not an X12 834.")
        headers = {
            "Content-Disposition": f'attachment; filename="eligibility-file-{file_id}-999.x12"',
            "Cache-Control": "no-store",
        }
        return PlainTextResponse(file.acknowledgment, headers=headers)

    async def template_csv(_request: Request) -> Response:
        async def body() -> AsyncIterator[str]:
            yield template()

        return csv_attachment(body(), "eligibility-template.csv")

    return [
        Route("/exports/eligibility-files/{file_id}/problems.csv", report, methods=["GET"]),
        Route("/exports/eligibility-files/{file_id}/999.x12", acknowledgment, methods=["GET"]),
        Route("/documents/eligibility-template.csv", template_csv, methods=["GET"]),
    ]


async def _authorize(
    session: AsyncSession, issuer: TokenIssuer, request: Request
) -> tuple[Principal, int]:
    principal = await principal_with(session, issuer, request, ELIGIBILITY_READ)
    raw = request.path_params["file_id"]
    file_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
    found = {} if file_id is None else await queries.files_by_ids(session, principal, [file_id])
    if file_id is None or file_id not in found:
        raise ExportRefusedError(error(404, "NOT_FOUND", "No such eligibility file."))
    return principal, file_id


async def _report_rows(
    session: AsyncSession, principal: Principal, file_id: int
) -> AsyncIterator[str]:
    """The header, then the rows in chunks of ``CHUNK_ROWS``; closes the session at the end."""
    try:
        yield csv_chunk([REPORT_COLUMNS])
        chunk: list[list[str]] = []
        async for row in queries.report_rows(session, principal, file_id=file_id):
            chunk.append([cell(row.position), cell(row.member), row.code, cell(row.message)])
            if len(chunk) == CHUNK_ROWS:
                yield csv_chunk(chunk)
                chunk = []
        yield csv_chunk(chunk)
    finally:
        await session.close()
