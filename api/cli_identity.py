"""`portal create-user`, `portal create-client` and `portal token` (development only)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.access_tokens import TokenIssuer
from api.auth.keys import load_signing_keys
from api.services.clients import ClientRuleError, create_client
from api.services.users import GrantSpec, UserRuleError, create_user, email_key
from api.settings import get_settings
from db.models import AccessLevel, Group, Role, User
from db.session import create_engine, create_sessionmaker

T = TypeVar("T")


def in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on the configured database."""

    async def run() -> T:
        engine = create_engine(get_settings().database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _fail(message: str) -> int:
    print(f"portal: {message}", file=sys.stderr)  # noqa: T201
    return 1


async def _grants(session: AsyncSession, specs: list[str]) -> list[GrantSpec]:
    """``G100001:billing=MANAGE,eligibility=VIEW,admin`` -> a grant on that group."""
    grants = []
    for spec in specs:
        number, _, options = spec.partition(":")
        group_id = await session.scalar(
            select(Group.id).where(Group.group_number == number.upper())
        )
        if group_id is None:
            raise UserRuleError(f"No group {number}.")
        values = dict(part.partition("=")[::2] for part in options.split(",") if part)
        grants.append(
            GrantSpec(
                group_id=group_id,
                billing=AccessLevel(values.get("billing", "NONE").upper()),
                eligibility=AccessLevel(values.get("eligibility", "NONE").upper()),
                group_admin="admin" in values,
            )
        )
    return grants


def create_user_command(args: argparse.Namespace) -> int:
    password = (
        None
        if args.invite
        else (
            sys.stdin.readline().rstrip("\n")
            if args.password_stdin
            else getpass.getpass("Password: ")
        )
    )

    async def work(session: AsyncSession) -> User:
        return await create_user(
            session,
            email=args.email,
            name=args.name,
            password=password,
            roles=[Role(role.upper()) for role in args.role],
            grants=await _grants(session, args.grant),
        )

    try:
        user = in_session(work)
    except (UserRuleError, ValueError) as exc:
        return _fail(str(exc))
    print(f"created user {user.email} ({user.status})")  # noqa: T201
    return 0


def create_client_command(args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> tuple[str, str | None]:
        client, secret = await create_client(
            session,
            client_id=args.client_id,
            name=args.name,
            scopes=args.scope.split(),
            grant_types=args.grant_type,
            redirect_uris=args.redirect_uri,
            confidential=args.confidential,
            first_party=args.first_party,
        )
        return client.client_id, secret

    try:
        client_id, secret = in_session(work)
    except ClientRuleError as exc:
        return _fail(str(exc))
    print(f"created client {client_id}")  # noqa: T201
    if secret:
        print(f"client secret (shown once, store it now): {secret}")  # noqa: T201
    return 0


def token_command(args: argparse.Namespace) -> int:
    """A development token for GraphiQL: refused in production."""
    settings = get_settings()
    if settings.is_production:
        return _fail("`portal token` is for development only.")

    async def work(session: AsyncSession) -> int | None:
        return await session.scalar(select(User.id).where(User.email_key == email_key(args.user)))

    user_id = in_session(work)
    if user_id is None:
        return _fail(f"No user {args.user}.")
    issuer = TokenIssuer(
        keys=load_signing_keys(settings),
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime_seconds=settings.access_token_seconds,
    )
    token = issuer.issue(
        subject=f"user:{user_id}", client_id="portal-cli", scope=args.scope, family=None
    )
    print(token)  # noqa: T201
    return 0


def add_identity_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("create-user", help="create a portal user with roles or grants")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument(
        "--role",
        action="append",
        default=[],
        choices=[r.value for r in Role] + [r.value.lower() for r in Role],
        help="internal role (repeatable)",
    )
    user.add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="GROUP:billing=LEVEL,eligibility=LEVEL[,admin]",
        help="benefit-leader grant (repeatable)",
    )
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user.add_argument(
        "--invite", action="store_true", help="create without a password (status INVITED)"
    )
    user.set_defaults(handler=create_user_command)

    client = commands.add_parser("create-client", help="register an OAuth client")
    client.add_argument("--client-id", required=True)
    client.add_argument("--name", required=True)
    client.add_argument(
        "--scope", required=True, help="space-separated scopes the client may ask for"
    )
    client.add_argument(
        "--grant-type",
        action="append",
        required=True,
        choices=["authorization_code", "refresh_token", "client_credentials"],
    )
    client.add_argument(
        "--redirect-uri", action="append", default=[], help="exact redirect URI (repeatable)"
    )
    client.add_argument("--confidential", action="store_true", help="issue a client secret")
    client.add_argument("--first-party", action="store_true", help="skip the consent page")
    client.set_defaults(handler=create_client_command)

    token = commands.add_parser("token", help="mint a development access token (not in production)")
    token.add_argument("--user", required=True, help="email of the user")
    token.add_argument(
        "--scope", required=True, help='space-separated scopes, e.g. "group:read eligibility:read"'
    )
    token.set_defaults(handler=token_command)
