"""Employer groups: how many members each gets, their status and dates, the plans they
offer and the rates they pay.

Why the first two groups are special: tests and demo users rely on them being ACTIVE,
list-billed, offering several plans and holding at least 15 members. The other groups get
a realistic mix of sizes (a few large, many small) and statuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from db.models import BillingMode, GroupStatus
from db.seed import words
from db.seed.catalogue import PLAN_CATALOGUE, CataloguePlan, RateBook
from db.seed.draws import Draws
from db.seed.inserts import Row
from db.seed.months import OPEN, first_day, last_day, month_of

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

_LIST_BILL_RATE = 0.8
_NAME_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """What member generation needs to know about a group; months are month numbers."""

    id: int
    status: GroupStatus
    billing_mode: BillingMode
    start: int
    end: int
    size: int
    plans: tuple[tuple[int, CataloguePlan], ...]
    """(group plan id, plan) for each plan the group offers."""
    city: tuple[str, str, str]


def group_plan_rows(specs: Sequence[GroupSpec], plan_ids: dict[str, int]) -> list[Row]:
    """The plans each group offers; ``plan_ids`` maps catalogue codes to plan ids."""
    return [
        {"id": group_plan_id, "group_id": spec.id, "plan_id": plan_ids[plan.code]}
        for spec in specs
        for group_plan_id, plan in spec.plans
    ]


_ALWAYS_SELF_BILLED = 2
"""The third group is self-billed, so that any demo of three or more groups has both
billing modes (the draw is still made, keeping the rest of the data as it was)."""


class GroupGenerator:
    """Group specs first (member generation needs them), then their rows; group ids and
    group plan ids are numbered from 1 in spec order."""

    def __init__(self, draws: Draws) -> None:
        self.draws = draws
        self.rng = draws.rng
        self.now = month_of(draws.today)
        self.rates_through = (draws.today.year + 1) * 12 + 11  # December of next year
        self.employer_names: set[str] = set()  # membership tests only: order varies

    def specs(self, count: int, members: int) -> list[GroupSpec]:
        """``count`` groups sharing ``members`` member rows (more when below the floors)."""
        group_plan_ids = itertools.count(1)
        specs = []
        for index, size in enumerate(self._sizes(count, members)):
            leading = index < 2
            status = GroupStatus.ACTIVE if leading else self.draws.choose(_LATER_GROUP_STATUSES)
            list_bill = leading or self.rng.random() < _LIST_BILL_RATE
            if index == _ALWAYS_SELF_BILLED:
                list_bill = False
            start, end = self._period(status)
            plans = self._offered_plans(leading)
            specs.append(
                GroupSpec(
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

    def _sizes(self, count: int, members: int) -> list[int]:
        """Member rows per group, log-normally spread over a floor of one subscriber per
        group and 15 members for each of the two leading groups."""
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

    def _period(self, status: GroupStatus) -> tuple[int, int]:
        """Effective 1-5 years ago (a group being set up: 1-3 months ahead); a terminated
        group ended at least 6 months after it started and before this month."""
        if status is GroupStatus.PENDING_SETUP:
            return self.rng.randint(self.now + 1, self.now + 3), OPEN
        start = self.rng.randint(self.now - 60, self.now - 12)
        if status is GroupStatus.TERMINATED:
            return start, self.rng.randint(start + 6, self.now - 1)
        return start, OPEN

    def _offered_plans(self, leading: bool) -> list[CataloguePlan]:
        count = self.rng.randint(2, 3) if leading else self.draws.choose(_PLANS_OFFERED)
        picked = sorted(self.rng.sample(range(len(PLAN_CATALOGUE)), count))
        return [PLAN_CATALOGUE[index] for index in picked]

    def group_row(self, spec: GroupSpec) -> Row:
        """Group numbers run from G100001 in id order; half the offices are in a suite."""
        city, state, zip_prefix = spec.city
        group_number = f"G{100_000 + spec.id}"
        suite = self.rng.randint(1, 9) * 100 if self.rng.random() < 0.5 else None
        return {
            "id": spec.id,
            "group_number": group_number,
            "name": self._employer_name(group_number),
            "address_line1": self.draws.street(),
            "address_line2": f"Suite {suite}" if suite else None,
            "city": city,
            "state": state,
            "postal_code": self.draws.zip_code(zip_prefix),
            "status": spec.status,
            "billing_mode": spec.billing_mode,
            "effective_date": first_day(spec.start),
            "termination_date": None if spec.end == OPEN else last_day(spec.end),
        }

    def _employer_name(self, group_number: str) -> str:
        """A fresh employer-like name; after many collisions (huge seeds) the group number
        is appended, which keeps names unique whatever the size."""
        for _ in range(_NAME_ATTEMPTS):
            name = self._employer_name_candidate()
            if name not in self.employer_names:
                break
        else:
            name = f"{name} {group_number}"
        self.employer_names.add(name)
        return name

    def _employer_name_candidate(self) -> str:
        """ "Harbor Creek Dental Supply LLC", or now and then "Walsh & Moreno Realty Inc"."""
        rng = self.rng
        trade = rng.choice(words.EMPLOYER_TRADES)
        form = rng.choice(words.EMPLOYER_LEGAL_FORMS)
        if rng.random() < 0.25:
            first, second = rng.sample(words.LAST_NAMES, 2)
            return f"{first} & {second} {trade} {form}"
        place = rng.choice(words.EMPLOYER_PLACE_WORDS)
        return f"{place} {rng.choice(words.EMPLOYER_LANDSCAPE_WORDS)} {trade} {form}"

    def rate_rows(self, specs: Sequence[GroupSpec]) -> tuple[list[Row], list[Row]]:
        """(rate schedules, tier rates) of every group plan: consecutive 12-month periods
        from the group's effective date until they cover the end of next year (or the
        group's termination date), so they never overlap and billing always finds a rate."""
        book = RateBook(self.rng)
        for spec in specs:
            through = self.rates_through if spec.end == OPEN else spec.end
            for group_plan_id, plan in spec.plans:
                book.add_group_plan(group_plan_id, plan, range(spec.start, through + 1, 12))
        return book.schedules, book.tier_rates
