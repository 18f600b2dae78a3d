"""Families: a subscriber, maybe a spouse or domestic partner, and children, each with
the months their coverage starts and ends.

Why these rates: tuned so that about 8 % of subscribers are terminated and about 10 %
have a tier change (a partner joining or leaving, a child being born); plan changes are
drawn with the coverage history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.models import Relationship, Sex
from db.seed import words
from db.seed.draws import Draws
from db.seed.groups import GroupSpec
from db.seed.months import month_of

_EARLY_ENROLLEE_RATE = 0.6
_SUBSCRIBER_TERMINATION_RATE = 0.09
_PARTNER_RATE = 0.5
_DOMESTIC_PARTNER_RATE = 0.08
_LATE_PARTNER_RATE = 0.10
_PARTNER_LEAVES_RATE = 0.03
_CHILD_COUNTS = ((0, 1, 2, 3), (50, 20, 21, 9))  # (values, weights)
_OPPOSITE_SEX = {Sex.FEMALE: Sex.MALE, Sex.MALE: Sex.FEMALE}
_DAYS_19_YEARS = 19 * 366
"""At least 19 years, whatever the leap days: a parent's age at a child's birth."""
_DAYS_25_YEARS = 25 * 365 + 6
"""Born at most this many days ago: 25 years old at most (26 years are >= 9,496 days)."""


@dataclass(slots=True)
class Person:
    """A member being generated; ``start`` and ``end`` bound their coverage (months)."""

    relationship: Relationship
    first_name: str
    last_name: str
    sex: Sex
    age: int
    birth: dt.date
    start: int
    end: int


class FamilyGenerator:
    """One family at a time, in a group's period; months are month numbers."""

    def __init__(self, draws: Draws) -> None:
        self.draws = draws
        self.rng = draws.rng
        self.now = month_of(draws.today)
        self.today_ordinal = draws.today_ordinal

    def family(self, spec: GroupSpec, budget: int) -> list[Person]:
        """A subscriber, maybe a partner, and children: at most ``budget`` people, so each
        group gets exactly its size. The subscriber comes first."""
        subscriber = self._subscriber(spec)
        partner = None
        if budget > 1 and self.rng.random() < _PARTNER_RATE:
            partner = self._partner(subscriber)
        family = [subscriber] if partner is None else [subscriber, partner]
        return family + self._children(subscriber, partner, budget - len(family))

    def _subscriber(self, spec: GroupSpec) -> Person:
        """Aged 21-66 today, and an adult (18 or more) when their coverage started."""
        start, end = self._enrollment(spec)
        age = self.rng.randint(max(21, (self.now - start) // 12 + 19), 66)
        sex = self.draws.sex()
        return Person(
            relationship=Relationship.SUBSCRIBER,
            first_name=self.draws.first_name(sex),
            last_name=self.rng.choice(words.LAST_NAMES),
            sex=sex,
            age=age,
            birth=self.draws.birth(age),
            start=start,
            end=end,
        )

    def _enrollment(self, spec: GroupSpec) -> tuple[int, int]:
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

    def _partner(self, subscriber: Person) -> Person:
        """A spouse (a few domestic partners), usually of the other sex and of a similar
        age; spouses mostly share the subscriber's last name."""
        rng = self.rng
        domestic = rng.random() < _DOMESTIC_PARTNER_RATE
        opposite = _OPPOSITE_SEX.get(subscriber.sex)
        sex = opposite if opposite and rng.random() < 0.92 else self.draws.sex()
        age = min(80, max(19, subscriber.age + rng.randint(-6, 6)))
        shares_name = not domestic and rng.random() < 0.85
        last_name = subscriber.last_name if shares_name else rng.choice(words.LAST_NAMES)
        start, end = self._partner_coverage(subscriber)
        relationship = Relationship.DOMESTIC_PARTNER if domestic else Relationship.SPOUSE
        return Person(
            relationship=relationship,
            first_name=self.draws.first_name(sex),
            last_name=last_name,
            sex=sex,
            age=age,
            birth=self.draws.birth(age),
            start=start,
            end=end,
        )

    def _partner_coverage(self, subscriber: Person) -> tuple[int, int]:
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

    def _children(self, subscriber: Person, partner: Person | None, budget: int) -> list[Person]:
        """0-3 children, oldest first, born about a year or more apart, after the subscriber
        turned 19 and less than 26 years ago (so still eligible today). A child born after
        the subscriber left would never have been covered here, so is not generated."""
        count = min(budget, self.draws.choose(_CHILD_COUNTS))
        earliest = max(
            subscriber.birth.toordinal() + _DAYS_19_YEARS, self.today_ordinal - _DAYS_25_YEARS
        )
        births = sorted(self.rng.randint(earliest, self.today_ordinal) for _ in range(count))
        for index in range(1, count):
            births[index] = max(births[index], births[index - 1] + self.rng.randint(330, 900))
        children = [
            self._child(subscriber, partner, dt.date.fromordinal(birth))
            for birth in births
            if birth <= self.today_ordinal
        ]
        return [child for child in children if child.start <= subscriber.end]

    def _child(self, subscriber: Person, partner: Person | None, birth: dt.date) -> Person:
        """Covered with the subscriber, or from the 1st after birth when born later (a tier
        change, as when a benefit leader adds a newborn)."""
        covered_from = month_of(birth) + (birth.day > 1)
        sex = self.draws.sex()
        last_name = subscriber.last_name
        if partner is not None and self.rng.random() < 0.1:
            last_name = partner.last_name
        return Person(
            relationship=Relationship.CHILD,
            first_name=self.draws.first_name(sex),
            last_name=last_name,
            sex=sex,
            age=self.draws.age(birth),
            birth=birth,
            start=max(subscriber.start, covered_from),
            end=subscriber.end,
        )
