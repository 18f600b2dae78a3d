"""The Strawberry ASGI view: one session per request, the context, orjson encoding."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.auth.principal import DEVELOPMENT_PRINCIPAL
from api.context import Context
from api.loaders import Loaders
from api.settings import Settings


class PortalGraphQL(GraphQL[Context, None]):
    """Strawberry's view with the portal's per-request session and context."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sessions = sessions
        self.settings = settings

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if self.settings.is_production:
            return _authentication_required()
        async with self.sessions() as session:
            request.state.session = session
            return await super().run(request)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)
        assert isinstance(response, Response)
        principal = DEVELOPMENT_PRINCIPAL
        session: AsyncSession = request.state.session
        return Context(
            request=request,
            response=response,
            session=session,
            principal=principal,
            loaders=Loaders.create(session, principal),
            settings=self.settings,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)


def _authentication_required() -> Response:
    """Production has no way to authenticate a caller until the identity component lands,
    so every GraphQL request is refused; development runs as the development principal."""
    body = {
        "errors": [
            {"message": "Authentication required.", "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
