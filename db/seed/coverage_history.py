"""Coverage history: a family's spans of one group plan and one tier, and each member's
coverage rows cut from them.

How: the subscriber's enrollment is cut wherever a dependent joins or leaves or the plan
changes; equal neighbours are merged. A dependent's rows are the family's spans clipped to
the dependent's own months, so they carry the family's tier and never outlast the
subscriber's. The tier comes from the portal's own rule (``tier_for``), so demo data and
the portal cannot disagree about it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from api.services.coverage import tier_for
from db.models import CoverageTier
from db.seed.draws import Draws
from db.seed.families import Person
from db.seed.groups import GroupSpec
from db.seed.inserts import Row
from db.seed.months import OPEN, first_day, last_day, month_of

_PLAN_CHANGE_RATE = 0.10
"""Of subscribers who could change plans; about 5 % of all subscribers end up changing."""


class PlanHistory(NamedTuple):
    """The group plan before and from ``change`` (``OPEN`` when it never changes)."""

    before: int
    after: int
    change: int


class Span(NamedTuple):
    """Months ``start`` to ``end`` (both included) of one tier and one group plan."""

    start: int
    end: int
    tier: CoverageTier
    group_plan_id: int


def _tier_on(dependents: Sequence[Person], month: int) -> CoverageTier:
    """The family's tier in ``month``, from which dependents are covered then."""
    covered = [person.relationship for person in dependents if person.start <= month <= person.end]
    return tier_for(covered_dependents=covered)


def family_spans(family: Sequence[Person], plans: PlanHistory) -> list[Span]:
    """The subscriber's enrollment (``family[0]``) cut so each span has one tier and one
    plan; equal neighbours are merged."""
    subscriber, dependents = family[0], family[1:]
    cuts = {subscriber.start, *(person.start for person in dependents)}
    cuts.update(person.end + 1 for person in dependents if person.end < subscriber.end)
    if plans.change != OPEN:
        cuts.add(plans.change)
    starts = sorted(cuts)
    spans: list[Span] = []
    for start, following in zip(starts, [*starts[1:], subscriber.end + 1], strict=True):
        tier = _tier_on(dependents, start)
        plan = plans.after if start >= plans.change else plans.before
        if spans and spans[-1].tier == tier and spans[-1].group_plan_id == plan:
            spans[-1] = spans[-1]._replace(end=following - 1)
        else:
            spans.append(Span(start, following - 1, tier, plan))
    return spans


class CoverageHistory:
    """Draws plan histories and numbers coverage rows from 1 in the order they are made."""

    def __init__(self, draws: Draws) -> None:
        self.rng = draws.rng
        self.now = month_of(draws.today)
        self.coverage_ids = itertools.count(1)

    def plan_history(self, spec: GroupSpec, subscriber: Person) -> PlanHistory:
        """One of the group's plans; a few subscribers switch plans at a past renewal (a
        group anniversary after they enrolled), which needs a group with several plans."""
        rng = self.rng
        group_plan_ids = [group_plan_id for group_plan_id, _ in spec.plans]
        before = rng.choice(group_plan_ids)
        first_renewal = spec.start + ((subscriber.start - spec.start) // 12 + 1) * 12
        renewals = range(first_renewal, min(self.now, subscriber.end) + 1, 12)
        if len(group_plan_ids) < 2 or not renewals or rng.random() >= _PLAN_CHANGE_RATE:
            return PlanHistory(before, before, OPEN)
        after = rng.choice(
            [group_plan_id for group_plan_id in group_plan_ids if group_plan_id != before]
        )
        return PlanHistory(before, after, rng.choice(renewals))

    def coverage_rows(self, person: Person, member_id: int, spans: list[Span]) -> Iterator[Row]:
        """The family's spans clipped to the member's own coverage."""
        for span in spans:
            start, end = max(span.start, person.start), min(span.end, person.end)
            if start <= end:
                yield {
                    "id": next(self.coverage_ids),
                    "member_id": member_id,
                    "group_plan_id": span.group_plan_id,
                    "tier": span.tier,
                    "effective_date": first_day(start),
                    "termination_date": None if end == OPEN else last_day(end),
                }
