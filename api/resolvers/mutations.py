"""How every mutation ends: its work and its audit event commit together, or nothing does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry


async def commit(
    info: strawberry.Info,
    action: str,
    *,
    target_type: str,
    target_id: str,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Record the audit event in the mutation's own transaction and commit both."""
    ctx = info.context
    ctx.audit.record(action, target_type=target_type, target_id=target_id, changes=changes)
    await ctx.audit.flush(ctx.session)
    await ctx.session.commit()
    # Take the next transaction's connection now: the payload's nested fields resolve
    # concurrently, and an AsyncSession cannot provision a connection for two at once.
    await ctx.session.connection()


async def discard(info: strawberry.Info) -> None:
    """A refused mutation leaves nothing behind."""
    await info.context.session.rollback()
    await info.context.session.connection()  # see ``commit``
