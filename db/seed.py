"""Deterministic demo data: plans, employer groups, premium rates, members and coverage.

Why: demos, manual testing and load tests need a database that looks like a carrier's
book of business (SPEC §2): groups of very different sizes and statuses, families, and
coverage histories with terminations, tier changes and plan changes. Every value is drawn
from one ``random.Random(seed)`` in a fixed order and every date is derived from
``today``, so the same arguments give byte-identical rows and tests can pin both.

How: seeding requires a database without groups, so primary keys are assigned here and
foreign keys need no round trips; rows go in table by table with chunked executemany, in
one transaction. Coverage is worked out in month numbers (``year * 12 + month - 1``):
every span starts on a 1st and ends on a last day of a month, the way the portal bills.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.services.ssn import ssn_hash
from db import seed_data as words
from db.base import Base
from db.models import (
    BillingMode,
    Coverage,
    CoverageTier,
    Group,
    GroupPlan,
    GroupStatus,
    Member,
    MemberStatus,
    Plan,
    PlanType,
    RateSchedule,
    Relationship,
    Sex,
    TierRate,
)

CHUNK_ROWS = 5_000
"""Rows per executemany: big enough to amortise round trips, small enough for memory."""

_OPEN = 1 << 40
"""The month number of "no end yet", so open spans compare like any other month."""

Row = dict[str, Any]
Progress = Callable[[str], None]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SeedSummary:
    """How many rows ``seed`` inserted, for the CLI to print and tests to check."""

    plans: int
    groups: int
    members: int
    subscribers: int
    coverages: int
    rate_schedules: int


class DatabaseNotEmptyError(RuntimeError):
    """Seeding assigns primary keys itself, so it only runs on a database without groups."""


@dataclass(frozen=True)
class _CataloguePlan:
    code: str
    name: str
    plan_type: PlanType
    description: str
    employee_cents: tuple[int, int]
    """Range of the monthly EMPLOYEE premium when a group starts, in cents."""


PLAN_CATALOGUE = (
    _CataloguePlan(
        "DPPO-BASIC",
        "Dental PPO Basic",
        PlanType.DPPO,
        "Preferred provider plan: preventive care at 100 %, basic services at 80 % after a "
        "$50 deductible, $1,000 annual maximum. Any licensed dentist; lower cost in network.",
        (3_800, 4_600),
    ),
    _CataloguePlan(
        "DPPO-PLUS",
        "Dental PPO Plus",
        PlanType.DPPO,
        "Preferred provider plan: preventive at 100 %, basic at 80 %, major services at "
        "50 %, child orthodontia at 50 % ($1,500 lifetime), $2,000 annual maximum.",
        (4_800, 6_000),
    ),
    _CataloguePlan(
        "DHMO-100",
        "DHMO 100",
        PlanType.DHMO,
        "Managed-care plan with an assigned network dentist: no deductible, no annual "
        "maximum, fixed copays for basic and major services.",
        (2_800, 3_300),
    ),
    _CataloguePlan(
        "DHMO-200",
        "DHMO 200",
        PlanType.DHMO,
        "Managed-care plan with an assigned network dentist and lower copays than DHMO 100, "
        "orthodontia included for children and adults.",
        (3_300, 3_900),
    ),
)

# Premium of each dependent tier as a percentage of the EMPLOYEE premium: (tier, min, max).
_TIER_PERCENTS = (
    (CoverageTier.EMPLOYEE_SPOUSE, 188, 192),
    (CoverageTier.EMPLOYEE_CHILDREN, 198, 202),
    (CoverageTier.FAMILY, 295, 305),
)
# The tier of an enrollment from (a partner is covered, a child is covered), SPEC §2.
_TIERS = {
    (False, False): CoverageTier.EMPLOYEE,
    (True, False): CoverageTier.EMPLOYEE_SPOUSE,
    (False, True): CoverageTier.EMPLOYEE_CHILDREN,
    (True, True): CoverageTier.FAMILY,
}
_OPPOSITE_SEX = {Sex.FEMALE: Sex.MALE, Sex.MALE: Sex.FEMALE}

# Weighted choices: (values, weights).
_LATER_GROUP_STATUSES = (
    (
        GroupStatus.ACTIVE,
        GroupStatus.PENDING_SETUP,
        GroupStatus.DELINQUENT,
        GroupStatus.SUSPENDED,
        GroupStatus.TERMINATED,
    ),
    (84, 3, 6, 3, 4),
)
_PLANS_OFFERED = ((1, 2, 3), (45, 40, 15))
_CHILD_COUNTS = ((0, 1, 2, 3), (50, 20, 21, 9))

# Probabilities, tuned so that about 8 % of subscribers are terminated, about 10 % have a
# tier change and about 5 % a plan change (the rest of the history follows from births).
_LIST_BILL_RATE = 0.8
_EARLY_ENROLLEE_RATE = 0.6
_SUBSCRIBER_TERMINATION_RATE = 0.09
_PARTNER_RATE = 0.5
_DOMESTIC_PARTNER_RATE = 0.08
_LATE_PARTNER_RATE = 0.10
_PARTNER_LEAVES_RATE = 0.03
_PLAN_CHANGE_RATE = 0.10
_DEPENDENT_WITHOUT_SSN_RATE = 0.10
_NAME_ATTEMPTS = 20
_DAYS_19_YEARS = 19 * 366
"""At least 19 years, whatever the leap days: a parent's age at a child's birth."""
_DAYS_25_YEARS = 25 * 365 + 6
"""Born at most this many days ago: 25 years old at most (26 years are >= 9,496 days)."""


def _month_of(day: dt.date) -> int:
    """The month number of ``day``: consecutive months are consecutive integers."""
    return day.year * 12 + day.month - 1


@functools.cache
def _first_day(month: int) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


@functools.cache
def _last_day(month: int) -> dt.date:
    return _first_day(month + 1) - dt.timedelta(days=1)


def _scale(cents: int, numerator: int, denominator: int) -> int:
    """``cents * numerator / denominator`` rounded half-up, in integers (money is exact)."""
    return (2 * cents * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class _GroupSpec:
    """What member generation needs to know about a group; months are month numbers."""

    id: int
    status: GroupStatus
    billing_mode: BillingMode
    start: int
    end: int
    size: int
    plans: tuple[tuple[int, _CataloguePlan], ...]
    """(group plan id, plan) for each plan the group offers."""
    city: tuple[str, str, str]


@dataclass(slots=True)
class _Person:
    """A member being generated; ``start`` and ``end`` bound their coverage (months)."""

    relationship: Relationship
    first_name: str
    last_name: str
    sex: Sex
    age: int
    birth: dt.date
    start: int
    end: int


class _PlanHistory(NamedTuple):
    """The group plan before and from ``change`` (``_OPEN`` when it never changes)."""

    before: int
    after: int
    change: int


class _Span(NamedTuple):
    start: int
    end: int
    tier: CoverageTier
    group_plan_id: int


def _tier_on(dependents: Sequence[_Person], month: int) -> CoverageTier:
    """The family's tier in ``month``, from which dependents are covered then."""
    partner = child = False
    for person in dependents:
        if person.start <= month <= person.end:
            if person.relationship is Relationship.CHILD:
                child = True
            else:
                partner = True
    return _TIERS[partner, child]


def _family_spans(family: Sequence[_Person], plans: _PlanHistory) -> list[_Span]:
    """Cut the subscriber's enrollment wherever a dependent joins or leaves or the plan
    changes, so each span has one tier and one plan; equal neighbours are merged."""
    subscriber, dependents = family[0], family[1:]
    cuts = {subscriber.start, *(person.start for person in dependents)}
    cuts.update(person.end + 1 for person in dependents if person.end < subscriber.end)
    if plans.change != _OPEN:
        cuts.add(plans.change)
    starts = sorted(cuts)
    spans: list[_Span] = []
    for start, following in zip(starts, [*starts[1:], subscriber.end + 1], strict=True):
        tier = _tier_on(dependents, start)
        plan = plans.after if start >= plans.change else plans.before
        if spans and spans[-1].tier == tier and spans[-1].group_plan_id == plan:
            spans[-1] = spans[-1]._replace(end=following - 1)
        else:
            spans.append(_Span(start, following - 1, tier, plan))
    return spans


class _Generator:
    """Draws every row from one ``random.Random`` in a fixed order, hence deterministic.

    Sets are only used for membership tests (their iteration order varies between runs).
    """

    def __init__(self, rng: random.Random, today: dt.date, ssn_hash_key: str) -> None:
        self.rng = rng
        self.today = today
        self.now = _month_of(today)
        self.today_ordinal = today.toordinal()
        self.rates_through = (today.year + 1) * 12 + 11  # December of next year
        self.ssn_hash_key = ssn_hash_key
        self.member_ids = itertools.count(1)
        self.coverage_ids = itertools.count(1)
        self.subscriber_numbers = itertools.count(100_000_001)
        self.ssns: set[int] = set()
        self.employer_names: set[str] = set()
        self.cities_by_state: dict[str, list[tuple[str, str, str]]] = {}
        for city in words.CITIES:
            self.cities_by_state.setdefault(city[1], []).append(city)

    def choose(self, weighted: tuple[Sequence[_T], Sequence[int]]) -> _T:
        """One value of a (values, weights) pair."""
        return self.rng.choices(*weighted)[0]

    # Groups, plans offered and rates ------------------------------------------------

    def group_sizes(self, count: int, members: int) -> list[int]:
        """Member rows per group, log-normally spread (a few large groups, many small ones)
        over a floor of one subscriber per group and 15 members for the two demo groups."""
        floors = [15 if index < 2 else 1 for index in range(count)]
        spare = max(0, members - sum(floors))
        weights = [self.rng.lognormvariate(0.0, 1.3) for _ in range(count)]
        total = sum(weights)
        shares = [spare * weight / total for weight in weights]
        sizes = [floor + int(share) for floor, share in zip(floors, shares, strict=True)]
        # Largest remainders take the members lost to rounding down, so the sum is exact.
        by_remainder = sorted(range(count), key=lambda i: shares[i] - int(shares[i]), reverse=True)
        for index in by_remainder[: spare - sum(int(share) for share in shares)]:
            sizes[index] += 1
        return sizes

    def groups(self, count: int, members: int) -> list[_GroupSpec]:
        """The first two groups are ACTIVE, list-billed and offer several plans: tests and
        demo users rely on them. The others get a realistic mix of statuses."""
        group_plan_ids = itertools.count(1)
        specs = []
        for index, size in enumerate(self.group_sizes(count, members)):
            leading = index < 2
            status = GroupStatus.ACTIVE if leading else self.choose(_LATER_GROUP_STATUSES)
            list_bill = leading or self.rng.random() < _LIST_BILL_RATE
            start, end = self.group_period(status)
            plans = self.offered_plans(leading)
            specs.append(
                _GroupSpec(
                    id=index + 1,
                    status=status,
                    billing_mode=BillingMode.LIST_BILL if list_bill else BillingMode.SELF_BILL,
                    start=start,
                    end=end,
                    size=size,
                    plans=tuple((next(group_plan_ids), plan) for plan in plans),
                    city=self.rng.choice(words.CITIES),
                )
            )
        return specs

    def group_period(self, status: GroupStatus) -> tuple[int, int]:
        """Effective 1-5 years ago (a group being set up: 1-3 months ahead); a terminated
        group ended at least 6 months after it started and before this month."""
        if status is GroupStatus.PENDING_SETUP:
            return self.rng.randint(self.now + 1, self.now + 3), _OPEN
        start = self.rng.randint(self.now - 60, self.now - 12)
        if status is GroupStatus.TERMINATED:
            return start, self.rng.randint(start + 6, self.now - 1)
        return start, _OPEN

    def offered_plans(self, leading: bool) -> list[_CataloguePlan]:
        count = self.rng.randint(2, 3) if leading else self.choose(_PLANS_OFFERED)
        picked = sorted(self.rng.sample(range(len(PLAN_CATALOGUE)), count))
        return [PLAN_CATALOGUE[index] for index in picked]

    def group_row(self, spec: _GroupSpec) -> Row:
        """Group numbers run from G100001 in id order; half the offices are in a suite."""
        city, state, zip_prefix = spec.city
        group_number = f"G{100_000 + spec.id}"
        suite = self.rng.randint(1, 9) * 100 if self.rng.random() < 0.5 else None
        return {
            "id": spec.id,
            "group_number": group_number,
            "name": self.employer_name(group_number),
            "address_line1": self.street(),
            "address_line2": f"Suite {suite}" if suite else None,
            "city": city,
            "state": state,
            "postal_code": self.zip_code(zip_prefix),
            "status": spec.status,
            "billing_mode": spec.billing_mode,
            "effective_date": _first_day(spec.start),
            "termination_date": None if spec.end == _OPEN else _last_day(spec.end),
        }

    def employer_name(self, group_number: str) -> str:
        """A fresh employer-like name; after many collisions (huge seeds) the group number
        is appended, which keeps names unique whatever the size."""
        for _ in range(_NAME_ATTEMPTS):
            name = self.employer_name_candidate()
            if name not in self.employer_names:
                break
        else:
            name = f"{name} {group_number}"
        self.employer_names.add(name)
        return name

    def employer_name_candidate(self) -> str:
        """ "Harbor Creek Dental Supply LLC", or now and then "Walsh & Moreno Realty Inc"."""
        rng = self.rng
        trade = rng.choice(words.EMPLOYER_TRADES)
        form = rng.choice(words.EMPLOYER_LEGAL_FORMS)
        if rng.random() < 0.25:
            first, second = rng.sample(words.LAST_NAMES, 2)
            return f"{first} & {second} {trade} {form}"
        place = rng.choice(words.EMPLOYER_PLACE_WORDS)
        return f"{place} {rng.choice(words.EMPLOYER_LANDSCAPE_WORDS)} {trade} {form}"

    def group_plan_rows(self, specs: Sequence[_GroupSpec], plan_ids: dict[str, int]) -> list[Row]:
        return [
            {"id": group_plan_id, "group_id": spec.id, "plan_id": plan_ids[plan.code]}
            for spec in specs
            for group_plan_id, plan in spec.plans
        ]

    def rates(self, specs: Sequence[_GroupSpec]) -> tuple[list[Row], list[Row]]:
        """Rate schedules and tier rates of every group plan: consecutive 12-month periods
        from the group's effective date until they cover the end of next year (or the
        group's termination date), so they never overlap and billing always finds a rate."""
        schedules: list[Row] = []
        tier_rates: list[Row] = []
        for spec in specs:
            through = self.rates_through if spec.end == _OPEN else spec.end
            for group_plan_id, plan in spec.plans:
                starts = range(spec.start, through + 1, 12)
                self.plan_rates(group_plan_id, plan, starts, schedules, tier_rates)
        return schedules, tier_rates

    def plan_rates(
        self,
        group_plan_id: int,
        plan: _CataloguePlan,
        starts: range,
        schedules: list[Row],
        tier_rates: list[Row],
    ) -> None:
        """One group plan's schedules: dependent tiers at fixed multiples of the EMPLOYEE
        premium (about 1.9x, 2x, 3x), each renewal 2-7 % dearer, in whole cents."""
        employee = self.rng.randint(*plan.employee_cents)
        percents = [(tier, self.rng.randint(low, high)) for tier, low, high in _TIER_PERCENTS]
        for start in starts:
            schedule_id = len(schedules) + 1
            schedules.append(
                {
                    "id": schedule_id,
                    "group_plan_id": group_plan_id,
                    "effective_from": _first_day(start),
                    "effective_to": _last_day(start + 11),
                }
            )
            premiums = [(CoverageTier.EMPLOYEE, employee)]
            premiums += [(tier, _scale(employee, percent, 100)) for tier, percent in percents]
            first_id = len(tier_rates) + 1
            tier_rates.extend(
                {
                    "id": first_id + offset,
                    "rate_schedule_id": schedule_id,
                    "tier": tier,
                    "monthly_premium_cents": cents,
                }
                for offset, (tier, cents) in enumerate(premiums)
            )
            employee = _scale(employee, 10_000 + self.rng.randint(200, 700), 10_000)

    # Members and coverage -------------------------------------------------------------

    def member_batches(self, specs: Sequence[_GroupSpec]) -> Iterator[tuple[list[Row], list[Row]]]:
        """(member rows, coverage rows), about ``CHUNK_ROWS`` members at a time, so memory
        stays flat however many members are asked for; a batch holds whole groups."""
        members: list[Row] = []
        coverages: list[Row] = []
        for spec in specs:
            remaining = spec.size
            while remaining > 0:
                family = self.family(spec, remaining)
                remaining -= len(family)
                self.family_rows(spec, family, members, coverages)
            if len(members) >= CHUNK_ROWS:
                yield members, coverages
                members, coverages = [], []
        if members:
            yield members, coverages

    def family(self, spec: _GroupSpec, budget: int) -> list[_Person]:
        """A subscriber, maybe a partner, and children: at most ``budget`` people, so each
        group gets exactly its size."""
        subscriber = self.subscriber(spec)
        partner = None
        if budget > 1 and self.rng.random() < _PARTNER_RATE:
            partner = self.partner(subscriber)
        family = [subscriber] if partner is None else [subscriber, partner]
        return family + self.children(subscriber, partner, budget - len(family))

    def subscriber(self, spec: _GroupSpec) -> _Person:
        """Aged 21-66 today, and an adult (18 or more) when their coverage started."""
        start, end = self.enrollment(spec)
        age = self.rng.randint(max(21, (self.now - start) // 12 + 19), 66)
        sex = self.sex()
        return _Person(
            relationship=Relationship.SUBSCRIBER,
            first_name=self.first_name(sex),
            last_name=self.rng.choice(words.LAST_NAMES),
            sex=sex,
            age=age,
            birth=self.birth(age),
            start=start,
            end=end,
        )

    def enrollment(self, spec: _GroupSpec) -> tuple[int, int]:
        """Months of the subscriber's coverage: many from the group's start, the others
        hired later (up to next month); some terminated since, at a month's end."""
        rng = self.rng
        latest = min(self.now + 1, spec.end)
        if spec.start > latest or rng.random() < _EARLY_ENROLLEE_RATE:
            start = spec.start
        else:
            start = rng.randint(spec.start, latest)
        end = spec.end
        if start < self.now and rng.random() < _SUBSCRIBER_TERMINATION_RATE:
            end = rng.randint(start, min(self.now - 1, spec.end))
        return start, end

    def partner(self, subscriber: _Person) -> _Person:
        """A spouse (a few domestic partners), usually of the other sex and of a similar
        age; spouses mostly share the subscriber's last name."""
        rng = self.rng
        domestic = rng.random() < _DOMESTIC_PARTNER_RATE
        opposite = _OPPOSITE_SEX.get(subscriber.sex)
        sex = opposite if opposite and rng.random() < 0.92 else self.sex()
        age = min(80, max(19, subscriber.age + rng.randint(-6, 6)))
        shares_name = not domestic and rng.random() < 0.85
        last_name = subscriber.last_name if shares_name else rng.choice(words.LAST_NAMES)
        start, end = self.partner_coverage(subscriber)
        relationship = Relationship.DOMESTIC_PARTNER if domestic else Relationship.SPOUSE
        return _Person(
            relationship=relationship,
            first_name=self.first_name(sex),
            last_name=last_name,
            sex=sex,
            age=age,
            birth=self.birth(age),
            start=start,
            end=end,
        )

    def partner_coverage(self, subscriber: _Person) -> tuple[int, int]:
        """Usually the subscriber's; some partners join later (marriage) and a few leave
        before the subscriber does (divorce): both are tier changes."""
        rng = self.rng
        start, end = subscriber.start, subscriber.end
        joined_by = min(self.now, subscriber.end)
        if subscriber.start < joined_by and rng.random() < _LATE_PARTNER_RATE:
            start = rng.randint(subscriber.start + 1, joined_by)
        left_by = min(self.now - 1, subscriber.end - 1)
        if start <= left_by and rng.random() < _PARTNER_LEAVES_RATE:
            end = rng.randint(start, left_by)
        return start, end

    def children(self, subscriber: _Person, partner: _Person | None, budget: int) -> list[_Person]:
        """0-3 children, oldest first, born about a year or more apart, after the subscriber
        turned 19 and less than 26 years ago (so still eligible today). A child born after
        the subscriber left would never have been covered here, so is not generated."""
        count = min(budget, self.choose(_CHILD_COUNTS))
        earliest = max(
            subscriber.birth.toordinal() + _DAYS_19_YEARS, self.today_ordinal - _DAYS_25_YEARS
        )
        births = sorted(self.rng.randint(earliest, self.today_ordinal) for _ in range(count))
        for index in range(1, count):
            births[index] = max(births[index], births[index - 1] + self.rng.randint(330, 900))
        children = [
            self.child(subscriber, partner, dt.date.fromordinal(birth))
            for birth in births
            if birth <= self.today_ordinal
        ]
        return [child for child in children if child.start <= subscriber.end]

    def child(self, subscriber: _Person, partner: _Person | None, birth: dt.date) -> _Person:
        """Covered with the subscriber, or from the 1st after birth when born later (a tier
        change, as when a benefit leader adds a newborn)."""
        covered_from = _month_of(birth) + (birth.day > 1)
        sex = self.sex()
        last_name = subscriber.last_name
        if partner is not None and self.rng.random() < 0.1:
            last_name = partner.last_name
        return _Person(
            relationship=Relationship.CHILD,
            first_name=self.first_name(sex),
            last_name=last_name,
            sex=sex,
            age=self.age(birth),
            birth=birth,
            start=max(subscriber.start, covered_from),
            end=subscriber.end,
        )

    def plan_history(self, spec: _GroupSpec, subscriber: _Person) -> _PlanHistory:
        """One of the group's plans; a few subscribers switch plans at a past renewal (a
        group anniversary after they enrolled), which needs a group with several plans."""
        rng = self.rng
        group_plan_ids = [group_plan_id for group_plan_id, _ in spec.plans]
        before = rng.choice(group_plan_ids)
        first_renewal = spec.start + ((subscriber.start - spec.start) // 12 + 1) * 12
        renewals = range(first_renewal, min(self.now, subscriber.end) + 1, 12)
        if len(group_plan_ids) < 2 or not renewals or rng.random() >= _PLAN_CHANGE_RATE:
            return _PlanHistory(before, before, _OPEN)
        after = rng.choice(
            [group_plan_id for group_plan_id in group_plan_ids if group_plan_id != before]
        )
        return _PlanHistory(before, after, rng.choice(renewals))

    def family_rows(
        self,
        spec: _GroupSpec,
        family: list[_Person],
        members: list[Row],
        coverages: list[Row],
    ) -> None:
        """Member rows (subscriber first, then ``01``, ``02``… dependents) and their spans."""
        spans = _family_spans(family, self.plan_history(spec, family[0]))
        number = next(self.subscriber_numbers)
        address = self.address(spec.city[1])
        subscriber_id = None
        for suffix, person in enumerate(family):
            member_id = next(self.member_ids)
            members.append(
                {
                    "id": member_id,
                    "group_id": spec.id,
                    "subscriber_id": subscriber_id,
                    "member_id": f"{number:09d}{suffix:02d}",
                    **self.person_columns(person, address),
                }
            )
            subscriber_id = subscriber_id or member_id
            coverages.extend(self.coverage_rows(person, member_id, spans))

    def person_columns(
        self, person: _Person, address: tuple[str, str | None, str, str, str]
    ) -> Row:
        """A member's own columns; dependents share the subscriber's address, and some
        dependents have no SSN on file (newborns, or simply not given)."""
        dependent = person.relationship is not Relationship.SUBSCRIBER
        has_ssn = not dependent or self.rng.random() >= _DEPENDENT_WITHOUT_SSN_RATE
        digest, last4 = self.ssn() if has_ssn else (None, None)
        line1, line2, city, state, postal_code = address
        return {
            "relationship": person.relationship,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "date_of_birth": person.birth,
            "sex": person.sex,
            "ssn_hash": digest,
            "ssn_last4": last4,
            "address_line1": line1,
            "address_line2": line2,
            "city": city,
            "state": state,
            "postal_code": postal_code,
            "status": MemberStatus.ACTIVE if person.end >= self.now else MemberStatus.TERMINATED,
        }

    def coverage_rows(self, person: _Person, member_id: int, spans: list[_Span]) -> Iterator[Row]:
        """The family's spans clipped to the member's own coverage: a dependent's spans
        carry the family's tier and never start before nor outlast the subscriber's."""
        for span in spans:
            start, end = max(span.start, person.start), min(span.end, person.end)
            if start <= end:
                yield {
                    "id": next(self.coverage_ids),
                    "member_id": member_id,
                    "group_plan_id": span.group_plan_id,
                    "tier": span.tier,
                    "effective_date": _first_day(start),
                    "termination_date": None if end == _OPEN else _last_day(end),
                }

    # Small draws ------------------------------------------------------------------------

    def sex(self) -> Sex:
        draw = self.rng.random()
        if draw < 0.004:
            return Sex.UNKNOWN
        return Sex.FEMALE if draw < 0.502 else Sex.MALE

    def first_name(self, sex: Sex) -> str:
        if sex is Sex.UNKNOWN:
            sex = Sex.FEMALE if self.rng.random() < 0.5 else Sex.MALE
        names = words.FEMALE_FIRST_NAMES if sex is Sex.FEMALE else words.MALE_FIRST_NAMES
        return self.rng.choice(names)

    def age(self, birth: dt.date) -> int:
        today = self.today
        return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))

    def birth(self, age: int) -> dt.date:
        """A birth date of someone exactly ``age`` today: the years back hold ``age // 4``
        or one more leap days, so 1 to 363 extra days always stay within that age."""
        days = age * 365 + age // 4 + self.rng.randint(1, 363)
        return dt.date.fromordinal(self.today_ordinal - days)

    def ssn(self) -> tuple[str, str]:
        """(keyed hash, last four) of an SSN not used before in this seed, valid for
        ``normalize_ssn``: area 001-665 or 667-899, group 01-99, serial 0001-9999."""
        digits = self.ssn_digits()
        while digits in self.ssns:
            digits = self.ssn_digits()
        self.ssns.add(digits)
        ssn = f"{digits:09d}"
        return ssn_hash(key=self.ssn_hash_key, ssn=ssn), ssn[5:]

    def ssn_digits(self) -> int:
        area = self.rng.randint(1, 898)
        area += area >= 666
        return area * 1_000_000 + self.rng.randint(1, 99) * 10_000 + self.rng.randint(1, 9999)

    def address(self, state: str) -> tuple[str, str | None, str, str, str]:
        """Most employees live in their employer's state; a few commute or work remotely."""
        rng = self.rng
        nearby = self.cities_by_state[state] if rng.random() < 0.85 else words.CITIES
        city, city_state, zip_prefix = rng.choice(nearby)
        apartment = f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}" if rng.random() < 0.12 else None
        return self.street(), apartment, city, city_state, self.zip_code(zip_prefix)

    def street(self) -> str:
        rng = self.rng
        name, suffix = rng.choice(words.STREET_NAMES), rng.choice(words.STREET_SUFFIXES)
        return f"{rng.randint(100, 9899)} {name} {suffix}"

    def zip_code(self, prefix: str) -> str:
        return f"{prefix}{self.rng.randint(1, 99):02d}"


# Database side ------------------------------------------------------------------------


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def _insert(conn: AsyncConnection, model: type[Base], rows: Sequence[Row]) -> None:
    """Chunked executemany: one statement per ``CHUNK_ROWS`` rows, never one per row."""
    statement = insert(_table(model))
    for offset in range(0, len(rows), CHUNK_ROWS):
        await conn.execute(statement, rows[offset : offset + CHUNK_ROWS])


async def _has_no_groups(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(Group.id).limit(1))).first() is None


async def database_is_empty(engine: AsyncEngine) -> bool:
    """True while no group exists, the only state in which ``seed`` runs."""
    async with engine.connect() as conn:
        return await _has_no_groups(conn)


async def _insert_plans(conn: AsyncConnection, report: Progress) -> tuple[int, dict[str, int]]:
    """Add the catalogue plans not there yet (plans may exist before any group does);
    returns how many were added and the id of every catalogue code."""
    found = await conn.execute(select(Plan.code, Plan.id))
    existing: dict[str, int] = dict(found.all())
    next_id = max(existing.values(), default=0) + 1
    missing = [plan for plan in PLAN_CATALOGUE if plan.code not in existing]
    added = {plan.code: next_id + index for index, plan in enumerate(missing)}
    rows = [
        {
            "id": added[plan.code],
            "code": plan.code,
            "name": plan.name,
            "description": plan.description,
            "plan_type": plan.plan_type,
        }
        for plan in missing
    ]
    await _insert(conn, Plan, rows)
    report(f"plans {len(rows)}/{len(PLAN_CATALOGUE)}")
    return len(rows), existing | added


async def _insert_groups(
    conn: AsyncConnection,
    generator: _Generator,
    specs: list[_GroupSpec],
    plan_ids: dict[str, int],
    report: Progress,
) -> int:
    """Groups, the plans they offer and their rates; returns the number of schedules."""
    await _insert(conn, Group, [generator.group_row(spec) for spec in specs])
    report(f"groups {len(specs)}/{len(specs)}")
    await _insert(conn, GroupPlan, generator.group_plan_rows(specs, plan_ids))
    schedules, tier_rates = generator.rates(specs)
    await _insert(conn, RateSchedule, schedules)
    await _insert(conn, TierRate, tier_rates)
    report(f"rate schedules {len(schedules)}/{len(schedules)}")
    return len(schedules)


async def _insert_members(
    conn: AsyncConnection,
    generator: _Generator,
    specs: list[_GroupSpec],
    report: Progress,
) -> tuple[int, int, int]:
    """Members and their coverage, batch by batch; returns (members, subscribers, spans)."""
    total = sum(spec.size for spec in specs)
    members = subscribers = coverages = 0
    for member_rows, coverage_rows in generator.member_batches(specs):
        await _insert(conn, Member, member_rows)
        await _insert(conn, Coverage, coverage_rows)
        members += len(member_rows)
        subscribers += sum(row["subscriber_id"] is None for row in member_rows)
        coverages += len(coverage_rows)
        report(f"members {members}/{total}")
    return members, subscribers, coverages


_SEEDED_MODELS: tuple[type[Base], ...] = (
    Plan,
    Group,
    GroupPlan,
    RateSchedule,
    TierRate,
    Member,
    Coverage,
)


async def _reset_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL: explicit ids leave the id sequences behind; move each past its max id
    so later inserts without ids work (SQLite needs nothing: it uses max(rowid) + 1)."""
    for model in _SEEDED_MODELS:
        name = _table(model).name
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM {name}"
            )
        )


async def seed(
    engine: AsyncEngine,
    *,
    groups: int = 20,
    members: int = 2_000,
    seed: int = 42,
    ssn_hash_key: str,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> SeedSummary:
    """Fill a database that has no groups with ``groups`` groups holding ``members``
    member rows in all (more when that is below the floors: 15 members for each of the
    first two groups and one for every other), in one transaction.

    Same arguments, same rows: ``today`` defaults to the UTC date, and every date is
    derived from it. Raises ``DatabaseNotEmptyError`` when a group already exists.
    """
    if groups < 1 or members < 0:
        raise ValueError("seed needs at least one group and a member count of 0 or more")
    report = progress or (lambda _message: None)
    day = today or dt.datetime.now(dt.UTC).date()
    async with engine.begin() as conn:
        if not await _has_no_groups(conn):
            raise DatabaseNotEmptyError(
                "The database already has groups, so it cannot be seeded; "
                "seed a fresh database (a new SQLite file or an empty, migrated schema)."
            )
        plans, plan_ids = await _insert_plans(conn, report)
        generator = _Generator(random.Random(seed), day, ssn_hash_key)
        specs = generator.groups(groups, members)
        schedules = await _insert_groups(conn, generator, specs, plan_ids, report)
        member_count, subscribers, coverages = await _insert_members(conn, generator, specs, report)
        if conn.dialect.name == "postgresql":
            await _reset_sequences(conn)
    return SeedSummary(
        plans=plans,
        groups=len(specs),
        members=member_count,
        subscribers=subscribers,
        coverages=coverages,
        rate_schedules=schedules,
    )
