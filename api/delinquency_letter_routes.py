"""Delinquency letter downloads: ``GET /documents/delinquency-letters/{letter}.pdf`` (SPEC
§2 Delinquency: letters are documents), where ``{letter}`` is as in
``DelinquencyLetter.pdfPath``.

Authenticated and scoped like the invoice download: no token → 401; a token without
``billing:read`` → 403; a letter the caller cannot see (another group's, a group without
the caller's billing access, a leader asking for a DRAFT, or none) → 404, the same answer
for each (SPEC §3). Each download is audited.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth.access_tokens import TokenIssuer
from api.auth.policy import BILLING_READ
from api.auth.principal import Principal
from api.documents.delinquency_letter_pdf import LetterContent, render_letter
from api.documents_routes import AuthenticatedDownload, error_response
from api.services.audit import AuditTrail
from api.services.delinquency.letter_text import mailing_address, render
from api.settings import Settings
from db.models import AuditOutcome, DelinquencyLetter, Group, LetterStatus
from db.queries.delinquency_letters import letters_by_ids

_NOT_FOUND = "No letter with this ID is visible to you."


def letter_content(letter: DelinquencyLetter, group: Group, settings: Settings) -> LetterContent:
    """What the PDF of a letter prints: dated the day it was sent, a draft its own day."""
    text = render(letter, group, settings.carrier_name)
    return LetterContent(
        carrier_name=settings.carrier_name, carrier_address=settings.remittance_address.split("|"),
        group_name=group.name, group_number=group.group_number,
        group_address=mailing_address(group),
        letter_date=letter.sent_at.date() if letter.sent_at else letter.as_of,
        draft=letter.status is LetterStatus.DRAFT, subject=text.subject, body=text.body,
    )  # fmt: skip


def _pdf(body: bytes, pk: int) -> Response:
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="delinquency-letter-{pk}.pdf"',
    }
    return Response(body, media_type="application/pdf", headers=headers)


async def _visible_letter(
    session: AsyncSession, principal: Principal, raw: str
) -> DelinquencyLetter | None:
    if not (raw.isdigit() and len(raw) < 19):
        return None
    return (await letters_by_ids(session, principal, [int(raw)])).get(int(raw))


class DelinquencyLetterDownload(AuthenticatedDownload):
    """``GET /documents/delinquency-letters/{id}.pdf``."""

    async def _respond(
        self, session: AsyncSession, principal: Principal, trail: AuditTrail, request: Request
    ) -> Response:
        if not principal.has_scope(BILLING_READ):
            trail.record("denied:delinquency_letter.download", outcome=AuditOutcome.DENIED)
            return error_response(
                403, "FORBIDDEN", f"You do not have permission for this ({BILLING_READ})."
            )
        letter = await _visible_letter(session, principal, str(request.path_params["letter_id"]))
        if letter is None:
            return error_response(404, "NOT_FOUND", _NOT_FOUND)
        group = await session.get_one(Group, letter.group_id)
        trail.record("delinquency_letter.download", target_type="DelinquencyLetter",
                     target_id=str(letter.id))  # fmt: skip
        return _pdf(render_letter(letter_content(letter, group, self.settings)), letter.id)


def delinquency_letter_routes(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, issuer: TokenIssuer
) -> list[Route]:
    """The letter download route, for ``create_app``."""
    handler = DelinquencyLetterDownload(sessions, settings, issuer)
    path = "/documents/delinquency-letters/{letter_id}.pdf"
    return [Route(path, handler.download, methods=["GET"])]
