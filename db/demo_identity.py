"""Demo users and OAuth clients for `make run` and the tests (fixed emails, one password).

The sign-in details are printed by `make run`; every demo account is for development only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.policy import (
    ALL_SCOPES,
    ELIGIBILITY_READ,
    ELIGIBILITY_WRITE,
    GROUP_READ,
)
from api.services.clients import create_client
from api.services.users import GrantSpec, create_user
from db.models import AccessLevel, Group, Role

DEMO_PASSWORD = "harbor lights demo sign-in"
PORTAL_CLIENT = "portal-web"
CONSOLE_CLIENT = "internal-console"
EDI_CLIENT = "edi-operations"
CLAIMS_CLIENT = "claims-system"
DEMO_CLIENT_SECRETS = {
    EDI_CLIENT: "edi-demo-secret-change-me",
    CLAIMS_CLIENT: "claims-demo-secret-change-me",
}
DEV_REDIRECT_URIS = (
    "http://127.0.0.1:8000/oauth/demo-callback",
    "http://localhost:5173/callback",
)
NONE, MANAGE, VIEW = AccessLevel.NONE, AccessLevel.MANAGE, AccessLevel.VIEW


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    name: str
    roles: tuple[Role, ...] = ()


DEMO_USERS = (
    DemoUser("leader@demo.test", "Lena Benefits"),
    DemoUser("viewer@demo.test", "Victor Viewer"),
    DemoUser("billing@demo.test", "Bianca Billing"),
    DemoUser("rep@demo.test", "Rita Representative", (Role.REP,)),
    DemoUser("support@demo.test", "Sam Support", (Role.SUPPORT,)),
    DemoUser("admin@demo.test", "Ada Admin", (Role.ADMIN,)),
)


async def seed_demo_identity(session: AsyncSession) -> None:
    """Demo users (leaders of the first groups, staff) and the demo clients. Flushes only."""
    first_two = list(
        (await session.scalars(select(Group.id).order_by(Group.group_number).limit(2))).all()
    )
    grants = {
        "leader@demo.test": [GrantSpec(g, MANAGE, MANAGE, group_admin=True) for g in first_two],
        "viewer@demo.test": [GrantSpec(g, VIEW, VIEW) for g in first_two[:1]],
        # A payroll clerk: pays the first group's bills, never sees its roster.
        "billing@demo.test": [GrantSpec(g, MANAGE, NONE) for g in first_two[:1]],
    }
    for user in DEMO_USERS:
        await create_user(
            session,
            email=user.email,
            name=user.name,
            password=DEMO_PASSWORD,
            roles=user.roles,
            grants=grants.get(user.email, []),
        )
    await _seed_demo_clients(session)


async def _seed_demo_clients(session: AsyncSession) -> None:
    """The portal and the console are first-party PKCE clients; the internal systems use
    client credentials with the fixed development secrets above."""
    for client_id, name in (
        (PORTAL_CLIENT, "Group portal (web)"),
        (CONSOLE_CLIENT, "Internal console"),
    ):
        await create_client(
            session,
            client_id=client_id,
            name=name,
            scopes=ALL_SCOPES,
            grant_types=["authorization_code", "refresh_token"],
            redirect_uris=DEV_REDIRECT_URIS,
            first_party=True,
        )
    for client_id, name, scopes in (
        (EDI_CLIENT, "EDI operations", {GROUP_READ, ELIGIBILITY_READ, ELIGIBILITY_WRITE}),
        (CLAIMS_CLIENT, "Claims system", {GROUP_READ, ELIGIBILITY_READ}),
    ):
        await create_client(
            session,
            client_id=client_id,
            name=name,
            scopes=scopes,
            grant_types=["client_credentials"],
            confidential=True,
            secret=DEMO_CLIENT_SECRETS[client_id],
        )
