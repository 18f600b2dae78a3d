"""The Strawberry ASGI view: authentication, one session per request, the context, the
audit trail written when the request ends, orjson encoding."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.auth.access_tokens import TokenIssuer
from api.auth.anonymous_report import is_anonymous_report
from api.auth.authenticate import NotAuthenticatedError, authenticate
from api.auth.principal import ANONYMOUS, Principal
from api.context import Context
from api.loaders import Loaders
from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.settings import Settings

logger = structlog.get_logger(__name__)


class PortalGraphQL(GraphQL[Context, None]):
    """Strawberry's view with the portal's authentication, session and audit trail."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        issuer: TokenIssuer,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sessions = sessions
        self.settings = settings
        self.issuer = issuer

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if request.method != "POST":
            return await self._get(request)
        if _unguarded_upload(request):
            return JSONResponse({"errors": [{"message": UPLOAD_NEEDS_PREFLIGHT}]}, status_code=400)
        try:
            return await self._authenticated_run(request)
        except (SQLAlchemyError, OSError):  # the database failed outside execution
            return _unexpected(request, mask=self.settings.masks_errors)
        finally:
            await request.close()  # an upload's spooled files are closed, not left to GC

    async def _get(self, request: Request) -> Response:
        """GET serves GraphiQL in development and nothing else: queries over GET are refused
        (they would be cacheable, logged in URLs and open to CSRF)."""
        if self.graphql_ide and "text/html" in request.headers.get("accept", ""):
            return await self.render_graphql_ide(request)
        return JSONResponse(
            {"errors": [{"message": "Send GraphQL operations with POST."}]},
            status_code=405,
            headers={"Allow": "POST"},
        )

    async def _authenticated_run(self, request: Request) -> Response:
        async with self.sessions() as session:
            try:
                principal = await self._principal(session, request)
            except NotAuthenticatedError as exc:
                return _unauthenticated(str(exc))
            trail = _trail(request, principal)
            request.state.session, request.state.principal = session, principal
            request.state.audit = trail
            response: Response = await super().run(request)
            await _write_audit(session, trail)
            return response

    async def _principal(self, session: AsyncSession, request: Request) -> Principal:
        """The token's principal; without an Authorization header, the anonymous reporter,
        for a lone ``accessIssueReport`` only (``api.auth.anonymous_report``)."""
        authorization = request.headers.get("authorization")
        if authorization is None and await is_anonymous_report(request, self.settings.max_tokens):
            return ANONYMOUS
        return await authenticate(session, self.issuer, authorization)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)
        assert isinstance(response, Response)
        session: AsyncSession = request.state.session
        principal: Principal = request.state.principal
        return Context(
            request=request,
            response=response,
            session=session,
            principal=principal,
            loaders=Loaders.create(session, principal),
            settings=self.settings,
            audit=request.state.audit,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)


def _trail(request: Request, principal: Principal) -> AuditTrail:
    client = request.client
    return AuditTrail(
        actor=Actor(user_id=principal.user_id, client_id=principal.client_id),
        origin=RequestOrigin(
            ip=client.host if client else None,
            user_agent=request.headers.get("user-agent", "")[:400] or None,
            request_id=request.scope.get("state", {}).get("request_id"),
        ),
    )


async def _write_audit(session: AsyncSession, trail: AuditTrail) -> None:
    """Whatever a resolver left uncommitted is discarded (writers commit their own work);
    the audit events are then committed on their own."""
    await session.rollback()
    await trail.flush(session)
    await session.commit()


def _unauthenticated(message: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    return JSONResponse(
        body, status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def _unexpected(request: Request, *, mask: bool) -> Response:
    correlation_id = request.scope.get("state", {}).get("request_id", "-")
    logger.exception("request failed outside execution", correlation_id=correlation_id)
    message = "Unexpected error." if mask else "Unexpected error (see the server log)."
    extensions = {"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id}
    return JSONResponse(
        {"errors": [{"message": message, "extensions": extensions}]}, status_code=500
    )


UPLOAD_NEEDS_PREFLIGHT = (
    "Send file uploads with the header `Apollo-Require-Preflight: true` (it protects "
    "against cross-site request forgery)."
)


def _unguarded_upload(request: Request) -> bool:
    """A multipart request (a simple request for CORS, which a hostile page can send) must
    carry a header that only a preflighted request can: Strawberry's CSRF guidance."""
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    return multipart and not request.headers.get("apollo-require-preflight")
