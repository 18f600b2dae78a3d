"""The thin Starlette ↔ Authlib adapter (Authlib has no Starlette server integration).

Authlib's server is synchronous; our database access is async. Each OAuth endpoint reads
the HTTP request asynchronously, then runs Authlib inside ``AsyncSession.run_sync``, where
the server's hooks use the request's session through ``current_db()`` — SQLAlchemy's
greenlet bridge turns their sync calls into awaits on the same connection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import orjson
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

T = TypeVar("T")

_db: ContextVar[Session] = ContextVar("oauth_db")


def current_db() -> Session:
    """The request's session, for Authlib's synchronous hooks."""
    return _db.get()


async def run_with_db(session: AsyncSession, work: Callable[[], T]) -> T:
    """Run synchronous Authlib ``work`` with ``current_db()`` bound to ``session``."""

    def bound(sync_session: Session) -> T:
        token = _db.set(sync_session)
        try:
            return work()
        finally:
            _db.reset(token)

    return await session.run_sync(lambda sync_session: bound(sync_session))


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An ``OAuth2Request`` from a Starlette request whose form was already read."""

    def __init__(self, request: Request, form: FormData | None) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args = dict(request.query_params)
        self._form = {} if form is None else {k: str(v) for k, v in form.items()}
        pairs = list(request.query_params.multi_items())
        if form is not None:
            pairs += [(k, str(v)) for k, v in form.multi_items()]
        self.payload = _Payload(pairs)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def oauth_request(request: Request) -> StarletteOAuth2Request:
    form = await request.form() if request.method == "POST" else None
    return StarletteOAuth2Request(request, form)


def to_response(status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
    """Authlib's ``(status, body, headers)`` as a Starlette response; token responses are
    never cached (RFC 6749 §5.1)."""
    merged = dict(headers)
    merged.setdefault("Cache-Control", "no-store")
    merged.setdefault("Pragma", "no-cache")
    if isinstance(body, dict):
        merged["Content-Type"] = "application/json"
        return Response(orjson.dumps(body), status_code=status, headers=merged)
    return Response(body or b"", status_code=status, headers=merged)
