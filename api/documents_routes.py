"""Document downloads: ``GET /documents/id-card/{memberId}.pdf`` (SPEC §2 ID cards).

Authenticated with the same bearer token as the API: no token → 401; a token without
``eligibility:read`` → 403; a member the caller cannot see (another group's, or none) →
404, indistinguishable (SPEC §3). Each download is audited as a read of member PHI.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth.access_tokens import TokenIssuer
from api.auth.authenticate import NotAuthenticatedError, authenticate
from api.auth.policy import ELIGIBILITY_READ
from api.auth.principal import Principal
from api.documents.id_card_pdf import CardContent, render_id_card
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.dates import today
from api.settings import Settings
from db.models import AuditOutcome
from db.queries.id_cards import CardDetails, card_details


def error_response(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def audit_trail(request: Request, principal: Principal) -> AuditTrail:
    client = request.client
    return AuditTrail(
        actor=Actor(user_id=principal.user_id, client_id=principal.client_id),
        origin=RequestOrigin(
            ip=client.host if client else None,
            user_agent=request.headers.get("user-agent", "")[:400] or None,
            request_id=request.scope.get("state", {}).get("request_id"),
        ),
    )


def _content(card: CardDetails, settings: Settings) -> CardContent:
    member, group = card.member, card.group
    return CardContent(
        carrier_name=settings.carrier_name,
        member_name=f"{member.first_name} {member.last_name}",
        member_id=member.member_id,
        group_number=group.group_number,
        group_name=group.name,
        plan_name=card.plan.name if card.plan else None,
        plan_code=card.plan.code if card.plan else None,
        effective_date=card.coverage.effective_date if card.coverage else None,
        contact_line=settings.carrier_contact_line,
    )


def _pdf(body: bytes, member_id: str) -> Response:
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="id-card-{member_id}.pdf"',
    }
    return Response(body, media_type="application/pdf", headers=headers)


class AuthenticatedDownload:
    """A document download: the bearer token is checked, the subclass's ``_respond``
    answers, and the audit events it records commit with the request."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        issuer: TokenIssuer,
    ) -> None:
        self.sessions, self.settings, self.issuer = sessions, settings, issuer

    async def download(self, request: Request) -> Response:
        async with self.sessions() as session:
            try:
                principal = await authenticate(
                    session, self.issuer, request.headers.get("authorization")
                )
            except NotAuthenticatedError as exc:
                return error_response(401, "UNAUTHENTICATED", str(exc))
            trail = audit_trail(request, principal)
            response = await self._respond(session, principal, trail, request)
            await trail.flush(session)
            await session.commit()
            return response

    async def _respond(
        self, session: AsyncSession, principal: Principal, trail: AuditTrail, request: Request
    ) -> Response:
        raise NotImplementedError


class IdCardDownload(AuthenticatedDownload):
    """``GET /documents/id-card/{memberId}.pdf``."""

    async def _respond(
        self, session: AsyncSession, principal: Principal, trail: AuditTrail, request: Request
    ) -> Response:
        member_id = str(request.path_params["member_id"])
        if not principal.has_scope(ELIGIBILITY_READ):
            trail.record("denied:idcard.download", outcome=AuditOutcome.DENIED)
            return error_response(
                403, "FORBIDDEN", f"You do not have permission for this ({ELIGIBILITY_READ})."
            )
        card = await card_details(session, principal, member_id, today())
        if card is None:
            return error_response(
                404, "NOT_FOUND", "No member with this member ID is visible to you."
            )
        for action in ("member.read", "idcard.download"):
            trail.record(action, target_type="Member", target_id=member_id)
        return _pdf(render_id_card(_content(card, self.settings)), member_id)


def document_routes(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, issuer: TokenIssuer
) -> list[Route]:
    """The download routes, for ``create_app``."""
    handler = IdCardDownload(sessions, settings, issuer)
    return [Route("/documents/id-card/{member_id}.pdf", handler.download, methods=["GET"])]
