"""A scripted browser for the sign-in pages (cookies kept by httpx) and OAuth helpers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.auth.totp import SecretBox, new_totp_secret
from db.models import User

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    return {name: value.replace("&amp;", "&") for name, value in _HIDDEN.findall(html)}


@dataclass
class Browser:
    http: httpx.AsyncClient

    async def follow_to_form(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code in {302, 303}, response.text
        return await self.http.get(response.headers["location"])

    async def submit(self, page: httpx.Response, action: str, **fields: str) -> httpx.Response:
        return await self.http.post(action, data={**hidden_fields(page.text), **fields})

    async def sign_in(
        self, authorize_url: str, email: str, password: str, totp_secret: str | None = None
    ) -> httpx.Response:
        """From the authorize URL to the response that carries the code (or a consent page)."""
        page = await self.follow_to_form(await self.http.get(authorize_url))
        response = await self.submit(page, "/signin", email=email, password=password)
        if totp_secret is not None:
            page = await self.follow_to_form(response)
            response = await self.submit(page, "/signin/mfa", code=pyotp.TOTP(totp_secret).now())
        return await self.http.get(response.headers["location"])


def code_from(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def enroll_totp(connection: AsyncConnection, email: str, secret_key: str) -> str:
    """Give ``email`` an enrolled authenticator; returns its secret."""
    secret = new_totp_secret()
    await connection.execute(
        update(User)
        .where(User.email_key == email)
        .values(
            totp_secret_encrypted=SecretBox(secret_key).encrypt(secret),
            totp_enrolled_at=dt.datetime.now(dt.UTC),
        )
    )
    return secret
