"""Creating portal users and their roles and grants (CLI, demo data, later the invite flow)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_password, password_problems
from db.models import AccessLevel, GroupGrant, Role, User, UserRole, UserStatus


class UserRuleError(ValueError):
    """The user cannot be created as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class GrantSpec:
    group_id: int
    billing: AccessLevel = AccessLevel.NONE
    eligibility: AccessLevel = AccessLevel.NONE
    group_admin: bool = False


def email_key(email: str) -> str:
    """Emails are unique case-insensitively."""
    return email.strip().casefold()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[Role] = (),
    grants: Iterable[GrantSpec] = (),
) -> User:
    """An ACTIVE user (INVITED when no password is given yet), flushed, not committed."""
    if "@" not in email or not name.strip():
        raise UserRuleError("Give an email address and a name.")
    if await session.scalar(select(User.id).where(User.email_key == email_key(email))):
        raise UserRuleError(f"A user with the email {email} already exists.")
    if password is not None and (problems := password_problems(password, email=email, name=name)):
        raise UserRuleError(" ".join(problem.message for problem in problems))
    user = User(
        email=email.strip(),
        email_key=email_key(email),
        name=name.strip(),
        status=UserStatus.INVITED if password is None else UserStatus.ACTIVE,
        password_hash=None if password is None else hash_password(password),
    )
    session.add(user)
    await session.flush()
    await _add_roles_and_grants(session, user.id, roles, grants)
    return user


async def _add_roles_and_grants(
    session: AsyncSession, user_id: int, roles: Iterable[Role], grants: Iterable[GrantSpec]
) -> None:
    role_rows = [{"user_id": user_id, "role": role} for role in set(roles)]
    grant_rows = [
        {
            "user_id": user_id,
            "group_id": grant.group_id,
            "billing_access": grant.billing,
            "eligibility_access": grant.eligibility,
            "group_admin": grant.group_admin,
        }
        for grant in grants
    ]
    if role_rows:
        await session.execute(insert(UserRole), role_rows)
    if grant_rows:
        await session.execute(insert(GroupGrant), grant_rows)
