"""The delinquency timeline (issue 8): a group whose June invoice goes unpaid, run day by
day through the daily job, asserted at each boundary of the SPEC table; then the
variants: a partial payment, a payment on day 40, an NSF return after it, an emergency
grace extension; and the run's idempotence and ordering. (See
``tests.delinquency_support`` for the group: 16000 cents a month, May paid.)"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.coverage_on import claims_pended
from api.services.dates import today
from api.services.delinquency import jobs
from api.services.rules import RuleViolation
from db.models import (
    Coverage,
    DelinquencyLetter,
    DelinquencyTransition,
    GraceExtension,
    GroupStatus,
    Invoice,
    Member,
    MemberStatus,
)
from tests.delinquency_support import (
    PREMIUM,
    day,
    delinquent_group,
    pay,
    return_nsf,
    run_day,
    simulate,
    snapshot,
)

PAID_THROUGH = dt.date(2026, 5, 31)


async def test_an_unpaid_invoice_runs_through_every_stage_to_termination_at_paid_through(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    seen = await simulate(sessions, group_id, 0, 90)
    expected = {
        0: (GroupStatus.ACTIVE, []),
        1: (GroupStatus.DELINQUENT, ["FIRST_NOTICE"]),
        14: (GroupStatus.DELINQUENT, ["FIRST_NOTICE"]),
        15: (GroupStatus.DELINQUENT, ["FIRST_NOTICE", "SECOND_NOTICE"]),
        30: (GroupStatus.DELINQUENT, ["FIRST_NOTICE", "SECOND_NOTICE"]),
        31: (GroupStatus.SUSPENDED, ["FIRST_NOTICE", "SECOND_NOTICE", "SUSPENSION"]),
        60: (GroupStatus.SUSPENDED, ["FIRST_NOTICE", "SECOND_NOTICE", "SUSPENSION"]),
        61: (GroupStatus.TERMINATED, ["FIRST_NOTICE", "SECOND_NOTICE", "SUSPENSION",
                                      "TERMINATION"]),
        90: (GroupStatus.TERMINATED, ["FIRST_NOTICE", "SECOND_NOTICE", "SUSPENSION",
                                      "TERMINATION"]),
    }  # fmt: skip
    for n, (status, letters) in expected.items():
        assert (n, seen[n].status, seen[n].letters) == (n, status, letters)
        assert claims_pended(seen[n].status) == (status is GroupStatus.SUSPENDED), n
    # one episode, from the June due date, terminated as of the paid-through date
    assert [(e[1], e[2], e[3]) for e in seen[90].episodes] == [("TERMINATED", "TERMINATED", day(0))]
    assert seen[61].termination_date == PAID_THROUGH
    await _assert_coverage_ends(sessions, group_id, PAID_THROUGH)
    await _assert_letter_dates(sessions, group_id)
    await _assert_final_credit(sessions, group_id)


async def _assert_coverage_ends(
    sessions: async_sessionmaker[AsyncSession], group_id: int, last_day: dt.date
) -> None:
    async with sessions() as session:
        ends = await session.execute(
            select(Coverage.termination_date, Member.status)
            .join(Member, Member.id == Coverage.member_id)
            .where(Member.group_id == group_id)
        )
        assert set(ends) == {(last_day, MemberStatus.TERMINATED)}


async def _assert_letter_dates(sessions: async_sessionmaker[AsyncSession], group_id: int) -> None:
    """Each letter states the day of what comes next, and the amounts on its day."""
    async with sessions() as session:
        rows = await session.execute(
            select(DelinquencyLetter.kind, DelinquencyLetter.as_of, DelinquencyLetter.action_date,
                   DelinquencyLetter.past_due_cents, DelinquencyLetter.paid_through_date)
            .where(DelinquencyLetter.group_id == group_id).order_by(DelinquencyLetter.id)
        )  # fmt: skip
        found = [(k.value, as_of, action, cents, paid) for k, as_of, action, cents, paid in rows]
    assert found == [
        ("FIRST_NOTICE", day(1), day(31), PREMIUM, PAID_THROUGH),
        ("SECOND_NOTICE", day(15), day(31), PREMIUM, PAID_THROUGH),  # July is due on 1 July
        ("SUSPENSION", day(31), day(61), 2 * PREMIUM, PAID_THROUGH),
        ("TERMINATION", day(61), PAID_THROUGH, 2 * PREMIUM, PAID_THROUGH),  # August: not yet
    ]


async def _assert_final_credit(sessions: async_sessionmaker[AsyncSession], group_id: int) -> None:
    """The final invoice credits June, July and August, billed past the paid-through date."""
    async with sessions() as session:
        totals = list(
            await session.scalars(
                select(Invoice.total_cents).where(Invoice.group_id == group_id)
                .order_by(Invoice.month)
            )
        )  # fmt: skip
    assert totals == [PREMIUM, PREMIUM, PREMIUM, PREMIUM, -3 * PREMIUM]


async def test_a_partial_payment_that_does_not_clear_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    await simulate(sessions, group_id, 0, 19)
    await pay(sessions, group_id, PREMIUM - 1, day(20), "partial")
    after = await snapshot(sessions, group_id)
    seen = await simulate(sessions, group_id, 20, 31)
    assert after.status is GroupStatus.DELINQUENT
    assert seen[31].status is GroupStatus.SUSPENDED
    assert len(seen[31].episodes) == 1


async def test_a_payment_on_day_40_reinstates_at_once_and_lifts_the_pend(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    await simulate(sessions, group_id, 0, 39)
    # June and July are past due on day 40; the payment clears both
    await pay(sessions, group_id, 2 * PREMIUM, day(40), "day40")
    paid = await snapshot(sessions, group_id)
    assert paid.status is GroupStatus.ACTIVE  # before any run
    assert not claims_pended(paid.status)
    assert paid.letters[-1] == "REINSTATEMENT"
    assert [e[1] for e in paid.episodes] == ["CURED"]
    seen = await simulate(sessions, group_id, 40, 61)
    assert seen[61].status is GroupStatus.ACTIVE  # August is not past due before 2 August


async def test_an_nsf_after_reinstatement_resumes_the_episode_with_its_dates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    await simulate(sessions, group_id, 0, 39)
    payment = await pay(sessions, group_id, 2 * PREMIUM, day(40), "day40")
    await simulate(sessions, group_id, 40, 44)
    await return_nsf(sessions, payment, day(45))
    returned = await snapshot(sessions, group_id)
    # at once: the same episode, suspended again, its June due date kept
    assert returned.status is GroupStatus.SUSPENDED
    assert [(e[1], e[2], e[3]) for e in returned.episodes] == [("OPEN", "SUSPENDED", day(0))]
    seen = await simulate(sessions, group_id, 45, 61)
    assert seen[60].status is GroupStatus.SUSPENDED
    assert seen[61].status is GroupStatus.TERMINATED  # day 61 of the original episode
    assert seen[61].termination_date == PAID_THROUGH
    assert seen[61].letters.count("SUSPENSION") == 1  # never drafted twice in an episode


async def test_an_emergency_grace_extension_pushes_suspension_and_termination_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    async with sessions.begin() as session:
        session.add(GraceExtension(starts_on=day(0), ends_on=day(120), extra_days=30,
                                   reason="Hurricane: state emergency", state=None))  # fmt: skip
    seen = await simulate(sessions, group_id, 0, 90)
    assert seen[15].letters == ["FIRST_NOTICE", "SECOND_NOTICE"]  # notices unchanged
    assert seen[31].status is GroupStatus.DELINQUENT
    assert seen[60].status is GroupStatus.DELINQUENT
    assert seen[61].status is GroupStatus.SUSPENDED
    assert seen[90].status is GroupStatus.SUSPENDED


async def test_a_grace_extension_for_another_state_does_not_apply(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    async with sessions.begin() as session:
        session.add(GraceExtension(starts_on=day(0), ends_on=day(120), extra_days=30,
                                   reason="Wildfire", state="CA"))  # fmt: skip
    seen = await simulate(sessions, group_id, 29, 31)
    assert seen[31].status is GroupStatus.SUSPENDED


async def test_running_the_same_date_twice_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    group_id = await delinquent_group(sessions)
    first = await run_day(sessions, day(31))
    before = await snapshot(sessions, group_id), await _transitions(sessions, group_id)
    again = await run_day(sessions, day(31))
    after = await snapshot(sessions, group_id), await _transitions(sessions, group_id)
    assert (first.transitions_count, first.letters_count) == (3, 1)  # 3 stages, 1 letter
    assert again.groups_total == 0  # the day's episodes are already assessed
    assert (again.status.value, again.transitions_count, again.letters_count) == ("COMPLETED", 0, 0)
    assert before == after


async def test_a_date_before_the_last_run_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await delinquent_group(sessions)
    await run_day(sessions, day(31))
    async with sessions.begin() as session:
        with pytest.raises(RuleViolation) as earlier:
            await jobs.queue_run(session, day(30), user_id=None, today=today())
        with pytest.raises(RuleViolation) as future:
            await jobs.queue_run(session, today() + dt.timedelta(days=1), user_id=None,
                                 today=today())  # fmt: skip
    assert earlier.value.problems[0].code == "RUN_OUT_OF_ORDER"
    assert future.value.problems[0].code == "AS_OF_IN_FUTURE"


async def _transitions(sessions: async_sessionmaker[AsyncSession], group_id: int) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(DelinquencyTransition.group_id == group_id)
        )
        return int(count or 0)
