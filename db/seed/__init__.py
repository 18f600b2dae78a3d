"""Deterministic demo data: plans, employer groups, premium rates, members and coverage.

Why: demos, manual testing and load tests need a database that looks like a carrier's
book of business (SPEC §2): groups of very different sizes and statuses, families, and
coverage histories with terminations, tier changes and plan changes. Every value is drawn
from one ``random.Random(seed)`` in a fixed order and every date is derived from
``today``, so the same arguments give byte-identical rows and tests can pin both.

How: seeding requires a database without groups, so primary keys are assigned by the
generators and foreign keys need no round trips; rows go in table by table with chunked
executemany, in one transaction. Coverage is worked out in month numbers
(``db.seed.months``): every span starts on a 1st and ends on a last day of a month, the
way the portal bills.

Modules, in the order a seed uses them: ``catalogue`` (plans and rates), ``groups``,
``families``, ``coverage_history``, ``members`` (rows of the last three), ``draws`` and
``words`` (small random values), ``inserts`` (writing rows).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import Coverage, Group, GroupPlan, Member, RateSchedule, TierRate
from db.seed.catalogue import insert_plans
from db.seed.draws import Draws
from db.seed.groups import GroupGenerator, GroupSpec, group_plan_rows
from db.seed.inserts import Progress, has_no_groups, insert_rows, reset_sequences
from db.seed.members import MemberRows

__all__ = ["DatabaseNotEmptyError", "SeedSummary", "database_is_empty", "seed"]


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


async def database_is_empty(engine: AsyncEngine) -> bool:
    """True while no group exists, the only state in which ``seed`` runs."""
    async with engine.connect() as conn:
        return await has_no_groups(conn)


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
    draws = Draws(random.Random(seed), today or dt.datetime.now(dt.UTC).date(), ssn_hash_key)
    async with engine.begin() as conn:
        if not await has_no_groups(conn):
            raise DatabaseNotEmptyError(
                "The database already has groups, so it cannot be seeded; "
                "seed a fresh database (a new SQLite file or an empty, migrated schema)."
            )
        summary = await _fill(conn, draws, groups, members, report)
        if conn.dialect.name == "postgresql":
            await reset_sequences(conn)
    return summary


async def _fill(
    conn: AsyncConnection, draws: Draws, groups: int, members: int, report: Progress
) -> SeedSummary:
    """Every table in dependency order; ``draws`` decides every value."""
    plans, plan_ids = await insert_plans(conn, report)
    group_generator = GroupGenerator(draws)
    specs = group_generator.specs(groups, members)
    schedules = await _insert_groups(conn, group_generator, specs, plan_ids, report)
    member_count, subscribers, coverages = await _insert_members(
        conn, MemberRows(draws), specs, report
    )
    return SeedSummary(
        plans=plans,
        groups=len(specs),
        members=member_count,
        subscribers=subscribers,
        coverages=coverages,
        rate_schedules=schedules,
    )


async def _insert_groups(
    conn: AsyncConnection,
    generator: GroupGenerator,
    specs: list[GroupSpec],
    plan_ids: dict[str, int],
    report: Progress,
) -> int:
    """Groups, the plans they offer and their rates; returns the number of schedules."""
    await insert_rows(conn, Group, [generator.group_row(spec) for spec in specs])
    report(f"groups {len(specs)}/{len(specs)}")
    await insert_rows(conn, GroupPlan, group_plan_rows(specs, plan_ids))
    schedules, tier_rates = generator.rate_rows(specs)
    await insert_rows(conn, RateSchedule, schedules)
    await insert_rows(conn, TierRate, tier_rates)
    report(f"rate schedules {len(schedules)}/{len(schedules)}")
    return len(schedules)


async def _insert_members(
    conn: AsyncConnection,
    rows: MemberRows,
    specs: list[GroupSpec],
    report: Progress,
) -> tuple[int, int, int]:
    """Members and their coverage, batch by batch; returns (members, subscribers, spans)."""
    total = sum(spec.size for spec in specs)
    members = subscribers = coverages = 0
    for member_rows, coverage_rows in rows.batches(specs):
        await insert_rows(conn, Member, member_rows)
        await insert_rows(conn, Coverage, coverage_rows)
        members += len(member_rows)
        subscribers += sum(row["subscriber_id"] is None for row in member_rows)
        coverages += len(coverage_rows)
        report(f"members {members}/{total}")
    return members, subscribers, coverages
