"""HTTP endpoints of the authorization server: authorize (with sign-in and consent), token,
revocation, introspection, server metadata (RFC 8414) and the JWK Set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.auth.browser_session import signed_in_user
from api.auth.oauth_models import PortalClient
from api.auth.oauth_request import StarletteOAuth2Request, oauth_request, run_with_db, to_response
from api.auth.oauth_server import PortalAuthorizationServer
from api.auth.policy import SCOPE_DESCRIPTIONS
from api.auth.web import AuthWeb, error_page, redirect, render, signin_url, verify_csrf
from db.models import User

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class OAuthEndpoints:
    web: AuthWeb
    server: PortalAuthorizationServer

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
            Route("/oauth/introspect", self.introspect, methods=["POST"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    async def token(self, request: Request) -> Response:
        return await self._endpoint(request, self.server.create_token_response)

    async def revoke(self, request: Request) -> Response:
        return await self._endpoint(
            request, lambda r: self.server.create_endpoint_response("revocation", r)
        )

    async def introspect(self, request: Request) -> Response:
        return await self._endpoint(
            request, lambda r: self.server.create_endpoint_response("introspection", r)
        )

    async def _endpoint(self, request: Request, handle: Any) -> Response:
        """Run an Authlib endpoint in the request's transaction and commit what it decided:
        a refused refresh that revoked a family must stay revoked."""
        oauth_req = await oauth_request(request)
        async with self.web.sessions() as db:
            status, body, headers = await run_with_db(db, lambda: handle(oauth_req))
            await db.commit()
        return to_response(status, body, headers)

    async def authorize(self, request: Request) -> Response:
        """RFC 6749 §4.1.1 with PKCE: validate, make sure the user is signed in (with MFA),
        ask for consent unless the client is first-party, then redirect with a code."""
        oauth_req = await oauth_request(request)
        async with self.web.sessions() as db:
            try:
                grant = await run_with_db(db, lambda: self.server.get_consent_grant(oauth_req))
            except OAuth2Error as error:
                return self._authorize_error(request, oauth_req, error)
            if not oauth_req.payload.state:
                return self._error_page(request, "The request has no `state` parameter.")
            if not oauth_req.payload.redirect_uri:
                # Required, not defaulted: the code is bound to the URI the client named.
                return self._error_page(request, "The request has no `redirect_uri` parameter.")
            user = await signed_in_user(db, request, self.web.settings, self.web.now())
            await db.commit()
            if user is None:
                return redirect(self.web, request, signin_url(_this_url(request)))
            return await self._decide(request, db, oauth_req, grant, user)

    async def _decide(
        self,
        request: Request,
        db: AsyncSession,
        oauth_req: StarletteOAuth2Request,
        grant: Any,
        user: User,
    ) -> Response:
        client: PortalClient = grant.request.client
        if request.method == "GET" and not client.row.first_party:
            return self._consent_page(request, oauth_req, client, user)
        if request.method == "POST":
            form = await request.form()
            if not verify_csrf(self.web, request, form):
                return self._error_page(request, "The form expired. Start signing in again.")
            allowed = form.get("decision") == "allow"
        else:
            allowed = True
        result = await run_with_db(
            db,
            lambda: self.server.create_authorization_response(
                oauth_req, grant_user=user if allowed else None, grant=grant
            ),
        )
        await db.commit()
        return to_response(*result)

    def _consent_page(
        self, request: Request, oauth_req: StarletteOAuth2Request, client: PortalClient, user: User
    ) -> Response:
        scopes = client.get_allowed_scope(oauth_req.payload.scope).split()
        return render(
            self.web,
            request,
            "consent.html",
            client_name=client.row.name,
            user_name=user.name,
            scopes=[SCOPE_DESCRIPTIONS[scope] for scope in scopes],
            params={
                k: oauth_req.payload.data[k]
                for k in AUTHORIZE_PARAMS
                if k in oauth_req.payload.data
            },
        )

    def _authorize_error(
        self, request: Request, oauth_req: StarletteOAuth2Request, error: OAuth2Error
    ) -> Response:
        """Errors go back to the client only through a redirect URI we verified (RFC 6749
        §4.1.2.1); otherwise the user sees a page, never a redirect."""
        if error.redirect_uri:
            return to_response(*self.server.handle_error_response(oauth_req, error))
        return self._error_page(request, error.description or error.error)

    def _error_page(self, request: Request, message: str) -> Response:
        return error_page(self.web, request, 400, "This sign-in request cannot be used", message)

    async def metadata(self, _request: Request) -> Response:
        """RFC 8414 authorization server metadata."""
        base = self.web.settings.issuer.rstrip("/")
        auth_methods = ["client_secret_basic", "client_secret_post", "none"]
        return JSONResponse(
            {
                "issuer": self.web.settings.issuer,
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "introspection_endpoint": f"{base}/oauth/introspect",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "scopes_supported": self.server.scopes_supported,
                "response_types_supported": ["code"],
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                ],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": auth_methods,
                "revocation_endpoint_auth_methods_supported": auth_methods,
                "introspection_endpoint_auth_methods_supported": auth_methods,
            }
        )

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse(self.server.issuer.keys.public_jwks())


def _this_url(request: Request) -> str:
    return request.url.path + ("?" + request.url.query if request.url.query else "")
