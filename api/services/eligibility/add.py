"""Adding a subscriber or a dependent (SPEC §2 Members and coverage)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.exc import IntegrityError

from api.services import id_cards
from api.services.eligibility.changes import AddDependent, Address, AddSubscriber, Person
from api.services.eligibility.context import (
    PLAN_NOT_OFFERED,
    ItemContext,
    Outcome,
    applied,
    find_member,
    member_not_found,
    offered_plan,
    refused,
)
from api.services.eligibility.rules import (
    DUPLICATE_SUSPECTED,
    age_limit_end,
    age_problems,
    date_problems,
    enrollment_problems,
)
from api.services.eligibility.spans import Family, Span, covered_on, lock_family, merged
from api.services.eligibility.spans import write_family as write
from api.services.rules import Problem
from db.models import Member, MemberStatus, Relationship

_FIRST_SUBSCRIBER_NUMBER = 100_000_001
_NUMBER_ATTEMPTS = 3
_PARTNERS = frozenset({Relationship.SPOUSE, Relationship.DOMESTIC_PARTNER})


async def add_subscriber(ctx: ItemContext, change: AddSubscriber) -> Outcome:
    """A new subscriber covered at EMPLOYEE from the effective date, with an ID card."""
    problems = date_problems(
        change, group_effective=ctx.group.effective_date, today=ctx.today, limits=ctx.limits
    )
    plan = await offered_plan(ctx, change.plan_code)
    if plan is None:
        problems.append(PLAN_NOT_OFFERED)
    problems += person_problems(change.person) + await duplicate_problems(ctx, change.person)
    outcome = refused(ctx, problems)
    if outcome.problems or plan is None:
        return outcome
    member = await _insert_subscriber(ctx, change)
    family = Family(member, [], {member.id: []}, plans=[Span(change.effective_date, None, plan)])
    await write(ctx.session, family, today=ctx.today)
    await id_cards.request_new_enrollment_card(
        ctx.session,
        member_id=member.id,
        now=ctx.now,
        business_days=ctx.limits.id_card_business_days,
    )
    return applied(member)


async def _insert_subscriber(ctx: ItemContext, change: AddSubscriber) -> Member:
    """Numbered after the highest subscriber number; a concurrent add that took the same
    number loses the unique constraint, and this one retries with the next."""
    for attempt in range(_NUMBER_ATTEMPTS):
        number = await _next_subscriber_number(ctx) + attempt
        member = _member(ctx, change.person, f"{number:09d}00", Relationship.SUBSCRIBER)
        _set_address(member, change.address)
        try:
            async with ctx.session.begin_nested():
                ctx.session.add(member)
        except IntegrityError:
            continue
        return member
    raise RuntimeError("could not number a new subscriber")


async def _next_subscriber_number(ctx: ItemContext) -> int:
    """One past the highest subscriber number. Member IDs are 11 digits (number + suffix),
    so the highest ID holds the highest number, and its unique index answers at once."""
    highest = await ctx.session.scalar(select(func.max(Member.member_id)))
    return _FIRST_SUBSCRIBER_NUMBER if highest is None else int(highest[:9]) + 1


async def add_dependent(ctx: ItemContext, change: AddDependent) -> Outcome:
    """A dependent covered from the effective date (a child until the age limit); the
    family's tier is re-derived."""
    subscriber = await find_member(ctx, change.subscriber_member_id or "")
    if subscriber is None or subscriber.relationship is not Relationship.SUBSCRIBER:
        return refused(ctx, [member_not_found("subscriberMemberId")])
    family = await lock_family(ctx.session, subscriber.id)
    problems = await _dependent_problems(ctx, change, family)
    outcome = refused(ctx, problems)
    if outcome.problems:
        return outcome
    member = await _insert_dependent(ctx, change, family)
    end = None
    if change.relationship is Relationship.CHILD:
        end = age_limit_end(change.person.date_of_birth, ctx.limits)
    family.covered[member.id] = [Span(change.effective_date, end)]
    await write(ctx.session, family, today=ctx.today)
    return applied(member)


async def _dependent_problems(
    ctx: ItemContext, change: AddDependent, family: Family
) -> list[Problem]:
    problems = date_problems(
        change, group_effective=ctx.group.effective_date, today=ctx.today, limits=ctx.limits
    )
    enrolled = covered_on(merged(family.plans), change.effective_date)
    if enrolled is None:
        problems.append(SUBSCRIBER_NOT_COVERED)
    start = enrolled.start if enrolled else None
    problems += enrollment_problems(
        change, subscriber_start=start, today=ctx.today, limits=ctx.limits
    )
    problems += age_problems(
        relationship=change.relationship,
        date_of_birth=change.person.date_of_birth,
        effective=change.effective_date,
        limits=ctx.limits,
    )
    problems += partner_problems(family, change.relationship, change.effective_date)
    return problems + person_problems(change.person) + await duplicate_problems(ctx, change.person)


async def _insert_dependent(ctx: ItemContext, change: AddDependent, family: Family) -> Member:
    """The next free suffix of the family (safe: the family is locked)."""
    suffix = max([int(m.member_id[9:]) for m in family.dependents], default=0) + 1
    number = family.subscriber.member_id[:9]
    member = _member(ctx, change.person, f"{number}{suffix:02d}", change.relationship)
    member.subscriber_id = family.subscriber.id
    for column in ("address_line1", "address_line2", "city", "state", "postal_code"):
        setattr(member, column, getattr(family.subscriber, column))
    ctx.session.add(member)
    await ctx.session.flush()
    family.dependents.append(member)
    family.rows[member.id] = []
    return member


def partner_problems(family: Family, relationship: Relationship, day: dt.date) -> list[Problem]:
    """At most one spouse or domestic partner covered at once (SPEC §2)."""
    if relationship not in _PARTNERS:
        return []
    for dependent in family.dependents:
        if dependent.relationship in _PARTNERS and any(
            span.end is None or span.end >= day for span in family.covered.get(dependent.id, [])
        ):
            return [SECOND_PARTNER]
    return []


def person_problems(person: Person) -> list[Problem]:
    problems = []
    if not person.first_name.strip() or not person.last_name.strip():
        message = "Give the member's first and last name."
        problems.append(Problem("INVALID_NAME", message, ("person", "firstName")))
    if person.ssn_error:
        problems.append(Problem("INVALID_SSN", person.ssn_error, ("person", "ssn")))
    return problems


async def duplicate_problems(ctx: ItemContext, person: Person) -> list[Problem]:
    """SPEC §2 Duplicates: the same SSN, or name and date of birth, in the group."""
    same_person = and_(
        func.lower(Member.last_name) == person.last_name.strip().lower(),
        Member.date_of_birth == person.date_of_birth,
        func.lower(Member.first_name) == person.first_name.strip().lower(),
    )
    # One indexed look-up per way of matching (a UNION, not an OR, which would read the
    # whole group): ix_members_identity for the name, the ssn_hash index for the SSN.
    matches = [same_person] + ([Member.ssn_hash == person.ssn_hash] if person.ssn_hash else [])
    lookups = [
        select(Member.member_id).where(
            Member.group_id == ctx.group.id, Member.status != MemberStatus.MERGED, match
        )
        for match in matches
    ]
    found = await ctx.session.scalar(union_all(*lookups).limit(1))
    if found is None:
        return []
    message = (
        f"This person looks like member {found} of the group (same SSN, or name and date "
        "of birth); a representative will check it before it is applied."
    )
    return [Problem(DUPLICATE_SUSPECTED, message, ("person",))]


def _member(ctx: ItemContext, person: Person, member_id: str, relationship: Relationship) -> Member:
    return Member(
        group_id=ctx.group.id,
        member_id=member_id,
        relationship=relationship,
        first_name=person.first_name.strip(),
        last_name=person.last_name.strip(),
        date_of_birth=person.date_of_birth,
        sex=person.sex,
        ssn_hash=person.ssn_hash,
        ssn_last4=person.ssn_last4,
        status=MemberStatus.ACTIVE,
    )


def _set_address(member: Member, address: Address | None) -> None:
    if address is None:
        return
    member.address_line1, member.address_line2 = address.line1, address.line2
    member.city, member.state, member.postal_code = address.city, address.state, address.postal_code


SUBSCRIBER_NOT_COVERED = Problem(
    "SUBSCRIBER_NOT_COVERED",
    "The subscriber is not covered on this date; a dependent's coverage cannot start "
    "before or outlast the subscriber's.",
    ("effectiveDate",),
)
SECOND_PARTNER = Problem(
    "SECOND_PARTNER",
    "The subscriber already covers a spouse or domestic partner; terminate that coverage "
    "first (at most one at a time).",
    ("relationship",),
)
