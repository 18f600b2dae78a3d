"""Small random values shared by every generator: weighted choices, sexes, first names,
birth dates, SSNs and street addresses.

Why one object: every value of a seed comes from one ``random.Random`` in a fixed order,
and the SSNs drawn so far must be remembered so that none repeats.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import TypeVar

from api.services.ssn import ssn_hash
from db.models import Sex
from db.seed import words

_T = TypeVar("_T")

Address = tuple[str, str | None, str, str, str]
"""(line 1, line 2, city, state, postal code)."""


class Draws:
    """Draws from the seed's ``random.Random``; ``rng`` and ``today`` are shared with
    the generators, so the whole seed has one source of randomness and one date.

    Sets are only used for membership tests (their iteration order varies between runs).
    """

    def __init__(self, rng: random.Random, today: dt.date, ssn_hash_key: str) -> None:
        self.rng = rng
        self.today = today
        self.today_ordinal = today.toordinal()
        self.ssn_hash_key = ssn_hash_key
        self.ssns: set[int] = set()
        self.cities_by_state: dict[str, list[tuple[str, str, str]]] = {}
        for city in words.CITIES:
            self.cities_by_state.setdefault(city[1], []).append(city)

    def choose(self, weighted: tuple[Sequence[_T], Sequence[int]]) -> _T:
        """One value of a (values, weights) pair."""
        return self.rng.choices(*weighted)[0]

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
        digits = self._ssn_digits()
        while digits in self.ssns:
            digits = self._ssn_digits()
        self.ssns.add(digits)
        ssn = f"{digits:09d}"
        return ssn_hash(key=self.ssn_hash_key, ssn=ssn), ssn[5:]

    def _ssn_digits(self) -> int:
        area = self.rng.randint(1, 898)
        area += area >= 666
        return area * 1_000_000 + self.rng.randint(1, 99) * 10_000 + self.rng.randint(1, 9999)

    def address(self, state: str) -> Address:
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
