"""Group contacts, scoped to the caller's groups (SPEC §3: `group:read` covers contacts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from db.models import GroupContact
from db.queries.scope import scoped


async def contacts_by_group(
    session: AsyncSession, principal: Principal, group_ids: Sequence[int]
) -> dict[int, list[GroupContact]]:
    """Each group's contacts by kind, then name."""
    stmt = (
        scoped(select(GroupContact), principal, GroupContact.group_id)
        .where(GroupContact.group_id.in_(group_ids))
        .order_by(GroupContact.kind, GroupContact.name, GroupContact.id)
    )
    contacts: dict[int, list[GroupContact]] = defaultdict(list)
    for contact in await session.scalars(stmt):
        contacts[contact.group_id].append(contact)
    return contacts


async def contacts_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[int]
) -> dict[int, GroupContact]:
    stmt = scoped(select(GroupContact), principal, GroupContact.group_id).where(
        GroupContact.id.in_(ids)
    )
    return {contact.id: contact for contact in await session.scalars(stmt)}
