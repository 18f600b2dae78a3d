"""Dual coverage with this carrier (SPEC §2): the same person, or spouses, covered in two
groups here. Candidates match by SSN hash or by first + last name + date of birth; a rep
confirms a link; each side then shows which record pays first.

Primary: the record where the person is the subscriber (their own coverage). When both
records are dependents (say, a child covered through each parent), the birthday rule
decides between the two subscribers (``api.services.cob``).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.services.cob import CobRule, PlanFacts, precedes
from api.services.rules import Problem, refuse_if
from db.models import DualCoverageLink, Group, Member, MemberStatus, Relationship

PARTNERS = (Relationship.SPOUSE, Relationship.DOMESTIC_PARTNER)


class DualRelation(enum.StrEnum):
    SAME_PERSON = "SAME_PERSON"
    SPOUSE = "SPOUSE"


@dataclass(frozen=True, slots=True)
class Candidate:
    member: Member
    other: Member
    other_group_number: str
    relation: DualRelation


def relation_of(member: Member, other: Member) -> DualRelation:
    """SPOUSE: a spouse/partner dependent on one side is a subscriber on the other."""
    kinds = {member.relationship, other.relationship}
    partner = bool(kinds & set(PARTNERS)) and Relationship.SUBSCRIBER in kinds
    return DualRelation.SPOUSE if partner else DualRelation.SAME_PERSON


async def candidates(session: AsyncSession, *, group_id: int) -> list[Candidate]:
    """Members of ``group_id`` matching a member of another group (not MERGED)."""
    other = aliased(Member)
    same_ssn = and_(Member.ssn_hash.is_not(None), Member.ssn_hash == other.ssn_hash)
    same_name = and_(
        func.lower(Member.first_name) == func.lower(other.first_name),
        func.lower(Member.last_name) == func.lower(other.last_name),
        Member.date_of_birth == other.date_of_birth,
    )
    stmt = (
        select(Member, other, Group.group_number)
        .join(other, and_(other.group_id != Member.group_id, or_(same_ssn, same_name)))
        .join(Group, Group.id == other.group_id)
        .where(Member.group_id == group_id, Member.status != MemberStatus.MERGED)
        .where(other.status != MemberStatus.MERGED)
        .order_by(Member.id, other.id)
        .limit(500)
    )
    rows = await session.execute(stmt)
    return [Candidate(m, o, number, relation_of(m, o)) for m, o, number in rows]


async def confirm(
    session: AsyncSession,
    *,
    member: Member,
    other: Member,
    relation: DualRelation,
    note: str | None,
    user_id: int | None,
) -> DualCoverageLink:
    """Store the rep-confirmed link once, lower member id first."""
    low, high = sorted((member.id, other.id))
    existing = await session.scalar(
        select(DualCoverageLink.id).where(
            DualCoverageLink.member_id == low, DualCoverageLink.other_member_id == high
        )
    )
    refuse_if(_link_problems(member, other, linked=existing is not None))
    link = DualCoverageLink(
        member_id=low, other_member_id=high, relation=relation.value, note=note,
        confirmed_by_user_id=user_id,
    )  # fmt: skip
    session.add(link)
    await session.flush()
    return link


def _link_problems(member: Member, other: Member, *, linked: bool) -> list[Problem]:
    checks = [
        (member.id == other.id, "SAME_MEMBER", "Pick two different members."),
        (member.group_id == other.group_id, "SAME_GROUP",
         "Both are in one group: that is a duplicate; merge them with membersMerge."),
        (MemberStatus.MERGED in (member.status, other.status), "MEMBER_MERGED",
         "One of them was merged; link the surviving record."),
        (linked, "ALREADY_LINKED", "These two members are already linked."),
    ]  # fmt: skip
    return [Problem(code, message, ("otherMemberId",)) for bad, code, message in checks if bad]


@dataclass(frozen=True, slots=True)
class Side:
    """One record of a linked pair, with its subscriber's date of birth and start."""

    member: Member
    subscriber_birth_date: dt.date
    subscriber_since: dt.date | None


def this_side_primary(mine: Side, theirs: Side) -> tuple[bool, CobRule]:
    """Whether ``mine`` pays first, by the COB rules (own coverage, then birthday rule)."""
    return precedes(_facts(mine), _facts(theirs))


def _facts(side: Side) -> PlanFacts:
    return PlanFacts(
        carrier_name="",
        member_is_holder=side.member.relationship is Relationship.SUBSCRIBER,
        holder_birth_date=side.subscriber_birth_date,
        holder_since=side.subscriber_since,
    )
