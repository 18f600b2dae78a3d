"""Processing a batch of changes (SPEC §2 Eligibility changes; §4 idempotency).

Each item runs in its own SAVEPOINT, so one bad item never blocks or half-applies
another. The batch is keyed by (group, idempotency key): the same key with the same
input returns the stored result and changes nothing; with another input it is refused.
Two submissions racing on one key meet at the unique constraint, and the loser returns
the winner's stored result.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.eligibility.add import add_dependent, add_subscriber
from api.services.eligibility.change_plan import change_plan
from api.services.eligibility.changes import (
    AddDependent,
    AddSubscriber,
    Change,
    ChangePlan,
    Reinstate,
    Terminate,
    kind_of,
    problems_to_json,
    to_payload,
)
from api.services.eligibility.context import ItemContext, Outcome
from api.services.eligibility.reinstate import reinstate
from api.services.eligibility.terminate import terminate
from api.services.eligibility.update import update_member
from api.services.rules import Problem, RuleViolation
from db.models import ChangeBatch, ChangeItem, ChangeStatus, Member

MAX_CHANGES = 100
FILE_KEY_PREFIX = "file:"
"""The key space of eligibility files: each family of a file is submitted under
``file:{file id}:{index}``. The portal refuses keys in it, so a form submission never
meets a file's stored result."""


@dataclass(frozen=True, slots=True)
class Submitter:
    user_id: int | None
    client_id: str | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """``replayed``: the stored result of an earlier submission with the same key."""

    batch: ChangeBatch
    items: list[ChangeItem]
    replayed: bool


async def submit(
    ctx: ItemContext, *, key: str, changes: list[Change], submitter: Submitter
) -> BatchResult:
    """Store the batch and process every item; or return the stored result of ``key``."""
    if not 1 <= len(changes) <= MAX_CHANGES:
        raise RuleViolation([TOO_MANY_CHANGES])
    fingerprint = fingerprint_of(changes)
    stored = await _stored(ctx.session, ctx.group.id, key)
    if stored is not None:
        return await _replay(ctx.session, stored, fingerprint)
    batch = ChangeBatch(
        group_id=ctx.group.id,
        idempotency_key=key,
        fingerprint=fingerprint,
        submitted_by_user_id=submitter.user_id,
        submitted_by_client_id=submitter.client_id,
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(batch)
    except IntegrityError:
        # A concurrent submission with this key committed first: its result stands.
        winner = await _stored(ctx.session, ctx.group.id, key)
        assert winner is not None
        return await _replay(ctx.session, winner, fingerprint)
    results = await process(ctx, changes)
    items = [_item(ctx, batch, position, *pair) for position, pair in enumerate(results)]
    ctx.session.add_all(items)
    await ctx.session.flush()
    return BatchResult(batch, items, replayed=False)


async def process(ctx: ItemContext, changes: list[Change]) -> list[tuple[Change, Outcome]]:
    """Every change, each in its own savepoint, with same-batch references resolved."""
    results: list[tuple[Change, Outcome]] = []
    for change in changes:
        resolved, problem = await _resolve(ctx, change, results)
        outcome = await run_item(ctx, resolved) if problem is None else _rejected(problem)
        results.append((resolved, outcome))
    return results


async def run_item(ctx: ItemContext, change: Change) -> Outcome:
    """One change in a SAVEPOINT: refused or failed, it leaves nothing behind."""
    try:
        async with ctx.session.begin_nested():
            return await _dispatch(ctx, change)
    except IntegrityError:
        return _rejected(CONFLICT)


async def _dispatch(ctx: ItemContext, change: Change) -> Outcome:
    if isinstance(change, AddSubscriber):
        return await add_subscriber(ctx, change)
    if isinstance(change, AddDependent):
        return await add_dependent(ctx, change)
    if isinstance(change, Terminate):
        return await terminate(ctx, change)
    if isinstance(change, ChangePlan):
        return await change_plan(ctx, change)
    if isinstance(change, Reinstate):
        return await reinstate(ctx, change)
    return await update_member(ctx, change)


async def _resolve(
    ctx: ItemContext, change: Change, earlier: list[tuple[Change, Outcome]]
) -> tuple[Change, Problem | None]:
    """An addDependent's ``subscriber_position`` -> the member ID that item created."""
    if not isinstance(change, AddDependent) or change.subscriber_position is None:
        return change, None
    position = change.subscriber_position
    if not 0 <= position < len(earlier) or not isinstance(earlier[position][0], AddSubscriber):
        return change, BAD_POSITION
    outcome = earlier[position][1]
    if outcome.status is not ChangeStatus.APPLIED or outcome.member_pk is None:
        return change, SUBSCRIBER_NOT_APPLIED
    member = await ctx.session.get(Member, outcome.member_pk)
    assert member is not None
    return dataclasses.replace(change, subscriber_member_id=member.member_id), None


def _rejected(problem: Problem) -> Outcome:
    return Outcome(ChangeStatus.REJECTED, [problem])


def _item(
    ctx: ItemContext, batch: ChangeBatch, position: int, change: Change, outcome: Outcome
) -> ChangeItem:
    return ChangeItem(
        batch_id=batch.id,
        group_id=ctx.group.id,
        position=position,
        kind=kind_of(change),
        payload=to_payload(change),
        effective_date=change.effective_date,
        reason=change.reason.value,
        status=outcome.status,
        problems=problems_to_json(outcome.problems),
        member_id=outcome.member_pk,
        applied_at=ctx.now if outcome.status is ChangeStatus.APPLIED else None,
    )


def fingerprint_of(changes: list[Change]) -> str:
    """SHA-256 of the input (kinds and payloads; SSNs already hashed)."""
    canonical = orjson.dumps([[kind_of(c), to_payload(c)] for c in changes])
    return hashlib.sha256(canonical).hexdigest()


async def _stored(session: AsyncSession, group_id: int, key: str) -> ChangeBatch | None:
    stmt = select(ChangeBatch).where(
        ChangeBatch.group_id == group_id, ChangeBatch.idempotency_key == key
    )
    batch: ChangeBatch | None = await session.scalar(stmt)
    return batch


async def _replay(session: AsyncSession, batch: ChangeBatch, fingerprint: str) -> BatchResult:
    if batch.fingerprint != fingerprint:
        raise RuleViolation([KEY_REUSED])
    stmt = select(ChangeItem).where(ChangeItem.batch_id == batch.id).order_by(ChangeItem.position)
    return BatchResult(batch, list(await session.scalars(stmt)), replayed=True)


TOO_MANY_CHANGES = Problem(
    "TOO_MANY_CHANGES",
    f"Send between 1 and {MAX_CHANGES} changes per submission; split larger ones.",
    ("changes",),
)
KEY_REUSED = Problem(
    "IDEMPOTENCY_KEY_REUSED",
    "This idempotency key was already used for different changes; use a new key for a "
    "new submission (reuse a key only to retry the very same one).",
    ("idempotencyKey",),
)
CONFLICT = Problem(
    "CONFLICT",
    "The change conflicts with the member's coverage as it is now; refresh and try again.",
)
BAD_POSITION = Problem(
    "SUBSCRIBER_POSITION_INVALID",
    "`subscriberPosition` must be the position of an earlier addSubscriber change.",
    ("subscriberPosition",),
)
SUBSCRIBER_NOT_APPLIED = Problem(
    "SUBSCRIBER_NOT_APPLIED",
    "The subscriber added earlier in this submission was not applied; add the dependent "
    "once the subscriber is enrolled.",
    ("subscriberPosition",),
)
