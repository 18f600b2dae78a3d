"""Reps' money requests made once (issue 7: "every money mutation takes an idempotency
key: same key + same input returns the first result; same key + different input is
refused; concurrent duplicates execute once (claimed atomically in the database)").

Payments carry their key themselves (``api.services.payments``); adjustments and
write-offs claim theirs here: the entry and its claim are written in one SAVEPOINT, so the
loser of a race rolls back its entry (and the audit events it recorded) and returns the
winner's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.audit import AuditTrail
from api.services.rules import Problem, RuleViolation
from db.models import LedgerEntry, LedgerRequest

MAX_KEY = 100


@dataclass(frozen=True, slots=True)
class Posted:
    """``replayed``: the entry an earlier request with the same key posted."""

    entry: LedgerEntry
    replayed: bool


def fingerprint_of(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps([str(part) for part in parts])).hexdigest()


async def once(
    session: AsyncSession,
    *,
    group_id: int,
    key: str,
    fingerprint: str,
    audit: AuditTrail,
    post: Callable[[], Awaitable[LedgerEntry]],
) -> Posted:
    """``post()`` unless ``key`` was used: then the first entry, or a refusal."""
    if not key.strip() or len(key) > MAX_KEY:
        raise RuleViolation([KEY_INVALID])
    stored = await _stored(session, group_id, key)
    if stored is not None:
        return await _replay(session, stored, fingerprint)
    recorded = dict(audit.events)
    try:
        async with session.begin_nested():
            entry = await post()
            session.add(LedgerRequest(group_id=group_id, idempotency_key=key,
                                      request_fingerprint=fingerprint,
                                      ledger_entry_id=entry.id))  # fmt: skip
            await session.flush()
    except IntegrityError:
        audit.events.clear()
        audit.events.update(recorded)  # the entry was rolled back: so are its events
        winner = await _stored(session, group_id, key)
        if winner is None:
            raise
        return await _replay(session, winner, fingerprint)
    return Posted(entry, replayed=False)


async def _stored(session: AsyncSession, group_id: int, key: str) -> LedgerRequest | None:
    stmt = select(LedgerRequest).where(
        LedgerRequest.group_id == group_id, LedgerRequest.idempotency_key == key
    )
    request: LedgerRequest | None = await session.scalar(stmt)
    return request


async def _replay(session: AsyncSession, request: LedgerRequest, fingerprint: str) -> Posted:
    if request.request_fingerprint != fingerprint:
        raise RuleViolation([KEY_REUSED])
    return Posted(await session.get_one(LedgerEntry, request.ledger_entry_id), replayed=True)


KEY_INVALID = Problem(
    "IDEMPOTENCY_KEY_INVALID",
    f"Give an idempotency key of 1 to {MAX_KEY} characters (a new one for each request).",
    ("idempotencyKey",),
)
KEY_REUSED = Problem(
    "IDEMPOTENCY_KEY_REUSED",
    "This idempotency key was used for a different request; use a new key.",
    ("idempotencyKey",),
)
