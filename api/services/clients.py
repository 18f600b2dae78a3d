"""Registering OAuth clients (``portal create-client``, demo data)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_password
from api.auth.policy import ALL_SCOPES
from db.models import OAuthClient

SUPPORTED_GRANTS = frozenset({"authorization_code", "refresh_token", "client_credentials"})


class ClientRuleError(ValueError):
    """The client cannot be registered as asked; the message says what to change."""


async def create_client(
    session: AsyncSession,
    *,
    client_id: str,
    name: str,
    scopes: Iterable[str],
    grant_types: Iterable[str],
    redirect_uris: Iterable[str] = (),
    confidential: bool = False,
    first_party: bool = False,
    secret: str | None = None,
) -> tuple[OAuthClient, str | None]:
    """The client and, for a confidential one, its secret (shown once, stored hashed)."""
    scopes, grants, uris = sorted(set(scopes)), sorted(set(grant_types)), list(redirect_uris)
    _check(scopes, grants, uris, confidential)
    if await session.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
        raise ClientRuleError(f"A client with the id {client_id} already exists.")
    if confidential:
        secret = secret or secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=client_id,
        name=name,
        client_secret_hash=hash_password(secret) if confidential and secret else None,
        redirect_uris=" ".join(uris),
        allowed_scopes=" ".join(scopes),
        grant_types=" ".join(grants),
        first_party=first_party,
    )
    session.add(client)
    await session.flush()
    return client, secret if confidential else None


def _check(scopes: list[str], grants: list[str], uris: list[str], confidential: bool) -> None:
    if unknown := set(scopes) - ALL_SCOPES:
        raise ClientRuleError(f"Unknown scopes: {', '.join(sorted(unknown))}.")
    if unsupported := set(grants) - SUPPORTED_GRANTS:
        raise ClientRuleError(f"Unsupported grant types: {', '.join(sorted(unsupported))}.")
    if "authorization_code" in grants and not uris:
        raise ClientRuleError("An authorization-code client needs at least one redirect URI.")
    if "client_credentials" in grants and not confidential:
        raise ClientRuleError("Client credentials need a confidential client (with a secret).")
