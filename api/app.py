"""The Starlette application: GraphQL at /graphql, health probes, protective middleware."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth.access_issue_pages import access_issue_routes
from api.auth.access_tokens import TokenIssuer
from api.auth.invitation_pages import invitation_routes
from api.auth.keys import load_signing_keys
from api.auth.oauth_routes import OAuthEndpoints
from api.auth.oauth_server import PortalAuthorizationServer
from api.auth.pages import signin_routes
from api.auth.password_reset_pages import password_reset_routes
from api.auth.web import AuthWeb
from api.billing_documents_routes import billing_document_routes
from api.billing_worker import BillingWorker
from api.delinquency_letter_routes import delinquency_letter_routes
from api.delinquency_worker import DelinquencyWorker
from api.documents_routes import document_routes
from api.file_routes import file_routes
from api.file_worker import FileWorker
from api.graphql_view import PortalGraphQL
from api.logging import configure_logging
from api.mail_worker import MailWorker
from api.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from api.roster_export import roster_export_route
from api.schema import build_schema
from api.settings import Settings
from api.workers import PeriodicWorker
from db.session import create_engine, create_sessionmaker


def create_app(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    workers: bool | None = None,
) -> Starlette:
    """The ASGI app. Tests pass ``sessions`` bound to a connection they roll back.

    ``workers``: deliver recorded mail and run eligibility-file jobs in the background; by
    default only when the app owns its engine, so tests that pass ``sessions`` have
    nothing done behind their back.
    """
    configure_logging(settings)
    _allow_plain_http_in_development(settings)
    issuer = TokenIssuer(
        keys=load_signing_keys(settings),
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime_seconds=settings.access_token_seconds,
    )
    engine: AsyncEngine | None = None
    if sessions is None:
        engine = create_engine(
            settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo
        )
        sessions = create_sessionmaker(engine)
    graphql = PortalGraphQL(
        sessions=sessions,
        settings=settings,
        issuer=issuer,
        schema=build_schema(settings),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
        multipart_uploads_enabled=True,
    )
    web = AuthWeb(sessions=sessions, settings=settings)
    oauth = OAuthEndpoints(
        web=web, server=PortalAuthorizationServer(issuer=issuer, settings=settings)
    )
    return Starlette(
        routes=[
            *_routes(graphql, sessions),
            roster_export_route(sessions, issuer),
            *oauth.routes(),
            *signin_routes(web),
            *invitation_routes(web),
            *access_issue_routes(web),
            *password_reset_routes(web),
            *document_routes(sessions, settings, issuer),
            *billing_document_routes(sessions, settings, issuer),
            *delinquency_letter_routes(sessions, settings, issuer),
            *file_routes(sessions, issuer),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                BodySizeLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                upload_max_bytes=settings.max_file_bytes + UPLOAD_OVERHEAD_BYTES,
            ),
        ],
        lifespan=_lifespan(engine, _workers(workers, engine, sessions, settings)),
    )


UPLOAD_OVERHEAD_BYTES = 64_000
"""Room in a multipart request for the operation and part headers beside the file."""


def _allow_plain_http_in_development(settings: Settings) -> None:
    """Authlib refuses http:// URLs unless told otherwise; development serves plain HTTP on
    loopback. Production runs behind TLS (uvicorn --proxy-headers sees https)."""
    if not settings.is_production:
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


def _routes(graphql: PortalGraphQL, sessions: async_sessionmaker[AsyncSession]) -> list[Route]:
    async def healthz(_request: Request) -> Response:
        """The process is up (liveness)."""
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        """The database answers (readiness)."""
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; the reason goes to the log
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]


def _workers(
    wanted: bool | None,
    engine: AsyncEngine | None,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> list[PeriodicWorker]:
    run = engine is not None if wanted is None else wanted
    if not run:
        return []
    return [MailWorker(sessions, settings), FileWorker(sessions, settings),
            BillingWorker(sessions, settings), DelinquencyWorker(sessions, settings)]  # fmt: skip


def _lifespan(  # type: ignore[no-untyped-def]
    engine: AsyncEngine | None, workers: list[PeriodicWorker]
):
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        for worker in workers:
            worker.start()
        yield
        for worker in workers:
            await worker.stop()
        if engine is not None:
            await engine.dispose()

    return lifespan
