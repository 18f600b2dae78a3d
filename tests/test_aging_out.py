"""The daily aging-out job (SPEC §2: a child is covered until the end of the month they
turn 26): the cut, the family's re-derived tier, idempotency, the audit and the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.audit import Actor, AuditTrail, RequestOrigin
from api.services.eligibility.aging_out import age_out
from db.models import Coverage, CoverageTier, Member, MemberStatus
from tests.eligibility_support import ENROLLED, family, group_and_plans, spans_of
from tests.live_server import portal_env, run_portal

BORN = dt.date(2000, 12, 10)
"""Turns 26 on 2026-12-10: covered until 2026-12-31."""
LAST_DAY = dt.date(2026, 12, 31)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    async with sessions() as session:
        return session


async def child_turning_26(session: AsyncSession) -> dict[str, Member]:
    """A family whose child (open-ended coverage, as imported data may be) turns 26 in
    December 2026."""
    group, plans = await group_and_plans(session)
    members = await family(session, group, plans[0], spouse=False, child=True)
    child = members["child"]
    child.date_of_birth = BORN
    await session.execute(
        update(Coverage).where(Coverage.member_id == child.id).values(termination_date=None)
    )
    await session.flush()
    return members


def trail() -> AuditTrail:
    return AuditTrail(Actor(None, "test"), RequestOrigin(None, None, None))


async def test_a_child_is_covered_until_the_end_of_the_month_they_turn_26(
    session: AsyncSession,
) -> None:
    # given
    members = await child_turning_26(session)
    sub, child = members["subscriber"], members["child"]
    # when: the month has not ended yet, then it has
    await age_out(session, as_of=LAST_DAY - dt.timedelta(days=1))
    untouched = [(r.tier, r.termination_date) for r in await spans_of(session, child)]
    audit = trail()
    report = await age_out(session, as_of=LAST_DAY, audit=audit)
    # then
    assert untouched == [(CoverageTier.EMPLOYEE_CHILDREN, None)]
    assert report.terminated >= 1
    rows = [(r.tier, r.effective_date, r.termination_date) for r in await spans_of(session, child)]
    assert rows == [(CoverageTier.EMPLOYEE_CHILDREN, ENROLLED, LAST_DAY)]
    sub_rows = [
        (r.tier, r.effective_date, r.termination_date) for r in await spans_of(session, sub)
    ]
    assert sub_rows == [
        (CoverageTier.EMPLOYEE_CHILDREN, ENROLLED, LAST_DAY),
        (CoverageTier.EMPLOYEE, LAST_DAY + dt.timedelta(days=1), None),
    ]
    assert ("eligibility.ageOut", "Member", child.member_id) in {key[:3] for key in audit.events}


async def test_a_second_run_changes_nothing(session: AsyncSession) -> None:
    # given
    members = await child_turning_26(session)
    first = await age_out(session, as_of=dt.date(2027, 2, 1))
    before = [await spans_of(session, m) for m in members.values()]
    # when
    again = await age_out(session, as_of=dt.date(2027, 2, 1))
    # then
    assert first.terminated >= 1
    assert (again.candidates, again.terminated, again.families) == (0, 0, 0)
    after = [await spans_of(session, m) for m in members.values()]
    assert [[r.id for r in rows] for rows in after] == [[r.id for r in rows] for rows in before]
    status = select(Member.status).where(Member.id == members["child"].id)
    assert await session.scalar(status) is MemberStatus.TERMINATED


def test_the_cli_ages_out_and_prints_counts(tmp_path: Path) -> None:
    env = portal_env(tmp_path)
    assert run_portal(["migrate"], env).returncode == 0
    seeded = run_portal(["seed", "--groups", "2", "--members", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    first = run_portal(["age-out", "--as-of", "2027-02-01"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("age-out as of 2027-02-01: ")
    again = run_portal(["age-out", "--as-of", "2027-02-01"], env)
    assert "0 candidates, 0 children terminated in 0 families" in again.stdout
