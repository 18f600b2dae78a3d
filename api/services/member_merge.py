"""Merging a duplicate member into a survivor (SPEC §2 Members and coverage: duplicates).

Refused (nothing changes) when the two are the same record, belong to different groups,
have different relationships, are dependents of different subscribers, either is already
``MERGED``, or their coverage spans share a day: spans of one member never overlap, so
overlapping history cannot be combined and a rep must correct one side first. Otherwise,
set-based: coverage spans, other coverage (COB), ID-card requests and dependents move to
the survivor; dual-coverage links are re-pointed; the duplicate stays as ``MERGED`` with
``merged_into_id``. Irreversible.

Audit rows are append-only and are not rewritten: the caller records a ``member.merge``
event on the survivor naming the duplicate (and one on the duplicate naming the
survivor), so the duplicate's history is found by following that event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from api.services.eligibility.spans import lock_subscribers
from api.services.rules import Problem, refuse_if
from db.models import (
    Coverage,
    DualCoverageLink,
    GroupPlan,
    IdCardRequest,
    Member,
    MemberStatus,
    OtherCoverage,
    Plan,
)


@dataclass(frozen=True, slots=True)
class Span:
    start: str
    end: str | None
    plan_code: str

    def overlaps(self, other: Span) -> bool:
        return (self.end is None or other.start <= self.end) and (
            other.end is None or self.start <= other.end
        )

    def describe(self) -> str:
        return f"{self.plan_code} {self.start} to {self.end or 'open-ended'}"


def _identity_problems(survivor: Member, duplicate: Member) -> list[Problem]:
    if survivor.id == duplicate.id:
        return [Problem("SAME_MEMBER", "Pick two different members.", ("duplicateId",))]
    checks = [
        (survivor.group_id != duplicate.group_id, "DIFFERENT_GROUPS",
         "Only members of the same group can be merged."),
        (MemberStatus.MERGED in (survivor.status, duplicate.status), "ALREADY_MERGED",
         "One of them was already merged; merge into the surviving record instead."),
        (survivor.relationship != duplicate.relationship, "RELATIONSHIP_MISMATCH",
         "A subscriber and a dependent are not duplicates; correct the relationship first."),
        (survivor.subscriber_id != duplicate.subscriber_id, "DIFFERENT_FAMILIES",
         "These dependents belong to different subscribers, whose tiers count them; "
         "terminate the wrong family's record instead of merging."),
    ]  # fmt: skip
    return [Problem(code, message, ("duplicateId",)) for bad, code, message in checks if bad]


async def _spans(session: AsyncSession, member_id: int) -> list[Span]:
    stmt = (
        select(Coverage.effective_date, Coverage.termination_date, Plan.code)
        .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(Coverage.member_id == member_id)
    )
    return [
        Span(start.isoformat(), end.isoformat() if end else None, code)
        for start, end, code in await session.execute(stmt)
    ]


def _overlap_problems(kept: Sequence[Span], moved: Sequence[Span]) -> list[Problem]:
    return [
        Problem(
            "COVERAGE_OVERLAP",
            f"Both were covered on the same days ({a.describe()} and {b.describe()}"
            f"{', different plans' if a.plan_code != b.plan_code else ''}); a member's "
            "coverage cannot overlap, so correct or remove one span before merging.",
            ("duplicateId",),
        )
        for a in kept
        for b in moved
        if a.overlaps(b)
    ]


@dataclass(frozen=True, slots=True)
class MergeResult:
    coverages: int
    other_coverages: int
    id_card_requests: int
    dependents: int


async def merge_members(
    session: AsyncSession, *, survivor: Member, duplicate: Member
) -> MergeResult:
    """Lock both families, check everything, then move the duplicate's records."""
    families = {m.subscriber_id or m.id for m in (survivor, duplicate)}
    await lock_subscribers(session, families)  # no eligibility change or merge meanwhile
    for member in (survivor, duplicate):
        await session.refresh(member)  # as committed before the lock was granted
    refuse_if(_identity_problems(survivor, duplicate))
    refuse_if(
        _overlap_problems(await _spans(session, survivor.id), await _spans(session, duplicate.id))
    )
    moved = [
        await _repoint(session, model.member_id, survivor.id, duplicate.id)
        for model in (Coverage, OtherCoverage, IdCardRequest)
    ]
    dependents = await _repoint(session, Member.subscriber_id, survivor.id, duplicate.id)
    await _repoint_links(session, survivor.id, duplicate.id)
    duplicate.status, duplicate.merged_into_id = MemberStatus.MERGED, survivor.id
    await session.flush()
    coverages, other_coverages, id_card_requests = moved
    return MergeResult(coverages, other_coverages, id_card_requests, dependents)


async def _repoint(
    session: AsyncSession, column: QueryableAttribute[Any], survivor: int, duplicate: int
) -> int:
    """Point every row whose ``column`` names the duplicate at the survivor; the row count."""
    stmt = update(column.class_).where(column == duplicate).values({column.key: survivor})
    result = cast("CursorResult[Any]", await session.execute(stmt))
    return int(result.rowcount or 0)


async def _repoint_links(session: AsyncSession, survivor: int, duplicate: int) -> None:
    """Dual-coverage links of the duplicate now name the survivor (stored lower id first);
    a link that would repeat one the survivor has, or link it to itself, is dropped."""
    involved = or_(
        DualCoverageLink.member_id == duplicate, DualCoverageLink.other_member_id == duplicate
    )
    links = list(await session.scalars(select(DualCoverageLink).where(involved)))
    existing = {
        (link.member_id, link.other_member_id)
        for link in await session.scalars(
            select(DualCoverageLink).where(
                or_(
                    DualCoverageLink.member_id == survivor,
                    DualCoverageLink.other_member_id == survivor,
                )
            )
        )
    }
    for link in links:
        ids = {link.member_id, link.other_member_id} - {duplicate}
        low, high = min(*ids, survivor), max(*ids, survivor)
        if low == high or (low, high) in existing:
            await session.delete(link)
            continue
        link.member_id, link.other_member_id = low, high
        existing.add((low, high))
