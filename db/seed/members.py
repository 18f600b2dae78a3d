"""Member and coverage rows, family by family, in batches of whole groups.

Why batches: a seed can ask for any number of members, so rows are handed to the
database about ``CHUNK_ROWS`` members at a time and memory stays flat.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from db.models import MemberStatus, Relationship
from db.seed.coverage_history import CoverageHistory, family_spans
from db.seed.draws import Address, Draws
from db.seed.families import FamilyGenerator, Person
from db.seed.groups import GroupSpec
from db.seed.inserts import CHUNK_ROWS, Row
from db.seed.months import month_of

_DEPENDENT_WITHOUT_SSN_RATE = 0.10


class MemberRows:
    """Numbers members from 1 and subscribers from 100000001, in the order generated."""

    def __init__(self, draws: Draws) -> None:
        self.draws = draws
        self.families = FamilyGenerator(draws)
        self.coverage = CoverageHistory(draws)
        self.now = month_of(draws.today)
        self.member_ids = itertools.count(1)
        self.subscriber_numbers = itertools.count(100_000_001)

    def batches(self, specs: Sequence[GroupSpec]) -> Iterator[tuple[list[Row], list[Row]]]:
        """(member rows, coverage rows) of about ``CHUNK_ROWS`` members each."""
        members: list[Row] = []
        coverages: list[Row] = []
        for spec in specs:
            remaining = spec.size
            while remaining > 0:
                family = self.families.family(spec, remaining)
                remaining -= len(family)
                self._add_family(spec, family, members, coverages)
            if len(members) >= CHUNK_ROWS:
                yield members, coverages
                members, coverages = [], []
        if members:
            yield members, coverages

    def _add_family(
        self,
        spec: GroupSpec,
        family: list[Person],
        members: list[Row],
        coverages: list[Row],
    ) -> None:
        """Member rows (subscriber first, then ``01``, ``02``… dependents) and their spans."""
        spans = family_spans(family, self.coverage.plan_history(spec, family[0]))
        number = next(self.subscriber_numbers)
        address = self.draws.address(spec.city[1])
        subscriber_id = None
        for suffix, person in enumerate(family):
            member_id = next(self.member_ids)
            members.append(
                {
                    "id": member_id,
                    "group_id": spec.id,
                    "subscriber_id": subscriber_id,
                    "member_id": f"{number:09d}{suffix:02d}",
                    **self._person_columns(person, address),
                }
            )
            subscriber_id = subscriber_id or member_id
            coverages.extend(self.coverage.coverage_rows(person, member_id, spans))

    def _person_columns(self, person: Person, address: Address) -> Row:
        """A member's own columns; dependents share the subscriber's address, and some
        dependents have no SSN on file (newborns, or simply not given)."""
        dependent = person.relationship is not Relationship.SUBSCRIBER
        has_ssn = not dependent or self.draws.rng.random() >= _DEPENDENT_WITHOUT_SSN_RATE
        digest, last4 = self.draws.ssn() if has_ssn else (None, None)
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
