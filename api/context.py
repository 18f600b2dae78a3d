"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from api.auth.principal import Principal
from api.loaders import Loaders
from api.services.audit import AuditTrail
from api.settings import Settings


@dataclass(slots=True)
class Context:
    """One database session, one principal and one set of DataLoaders per request."""

    request: Request
    response: Response
    session: AsyncSession
    principal: Principal
    loaders: Loaders
    settings: Settings
    audit: AuditTrail

    @property
    def request_id(self) -> str:
        return str(self.request.scope.get("state", {}).get("request_id", "-"))
