"""Self-billed remittances, on a group built for the test so every amount is known by hand
(SPEC §2 Billing: "Self-billed groups"; the rule is in ``api.services.remittances``).

G900001 (``billing_group`` of the billing-run tests, switched to SELF_BILL), December 2026
rates: EMPLOYEE 4000, EMPLOYEE_SPOUSE 8000. Expected premium for December:

| subscriber      | enrolled on 1 Dec 2026 | expected |
|-----------------|------------------------|----------|
| A 90000000000   | EMPLOYEE               | 4000     |
| B 90000000100   | EMPLOYEE_SPOUSE        | 8000     |
| C 90000000200   | EMPLOYEE               | 4000     |
| total           |                        | 16000    |

Threshold: max(2500, 2 % of 16000 = 320) = 2500 cents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import remittance_csv, remittances
from api.services.balances import balances
from api.services.payments import record_payment
from api.services.remittance_rules import ExpectedLine, RosterLine, differences, threshold_cents
from api.services.rules import RuleViolation
from db.models import (
    BillingMode,
    Coverage,
    CoverageTier,
    Group,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LedgerEntry,
    Member,
    MemberStatus,
    PaymentMethod,
    Plan,
    Relationship,
    Remittance,
    RemittanceDecision,
    RemittanceDifference,
    RemittanceDifferenceKind,
    RemittanceLine,
    RemittanceSource,
    RemittanceStatus,
    Sex,
)
from tests.ledger_support import ledger_sum, trail
from tests.test_billing_run import SEP, billing_group

DEC = dt.date(2026, 12, 1)
TODAY = dt.date(2026, 12, 1)
DEFAULTS = remittances.Thresholds(floor_cents=2500, percent=2)
EMP, SPOUSE = CoverageTier.EMPLOYEE, CoverageTier.EMPLOYEE_SPOUSE
A, B, C, D = "90000000000", "90000000100", "90000000200", "90000000300"
Kind = RemittanceDifferenceKind


async def self_billed(session: AsyncSession) -> tuple[Group, str]:
    """The table above: G900001 self-billed, B at EMPLOYEE_SPOUSE; its plan code."""
    group, _plan_id, members = await billing_group(session)
    group.billing_mode = BillingMode.SELF_BILL
    await session.execute(
        update(Coverage).where(Coverage.member_id == members["B"].id).values(tier=SPOUSE)
    )
    await session.flush()
    code = await session.scalar(select(Plan.code).order_by(Plan.code).limit(1))
    assert code is not None
    return group, code


async def add_subscriber_d(session: AsyncSession, group: Group) -> None:
    """A fourth subscriber, D, at EMPLOYEE (4000) from September."""
    plan_id = await session.scalar(
        select(Coverage.group_plan_id).join(Member).where(Member.group_id == group.id).limit(1)
    )
    member = Member(group_id=group.id, member_id=D, relationship=Relationship.SUBSCRIBER,
                    first_name="D", last_name="Billtest", date_of_birth=dt.date(1980, 1, 1),
                    sex=Sex.FEMALE, status=MemberStatus.ACTIVE)  # fmt: skip
    session.add(member)
    await session.flush()
    session.add(Coverage(member_id=member.id, group_plan_id=plan_id, tier=EMP, effective_date=SEP))
    await session.flush()


def roster(*lines: tuple[str, str, CoverageTier, int]) -> tuple[RosterLine, ...]:
    return tuple(RosterLine(n, *line) for n, line in enumerate(lines, start=1))


def submission(
    lines: Sequence[RosterLine], key: str = "k1", source: RemittanceSource = RemittanceSource.LINES
) -> remittances.Submission:
    total = sum(line.amount_cents for line in lines)
    return remittances.Submission(DEC, total, tuple(lines), source, key)


async def submit(
    session: AsyncSession, group: Group, sent: remittances.Submission
) -> remittances.Submitted:
    return await remittances.submit(
        session, group=group, submission=sent, defaults=DEFAULTS, user_id=None,
        audit=trail(), today=TODAY,
    )  # fmt: skip


async def entries(session: AsyncSession, group: Group) -> list[tuple[str, int, str | None]]:
    rows = await session.execute(
        select(LedgerEntry.kind, LedgerEntry.amount_cents, LedgerEntry.reason_code)
        .where(LedgerEntry.group_id == group.id)
        .order_by(LedgerEntry.id)
    )
    return [(kind.value, cents, reason and reason.value) for kind, cents, reason in rows]


async def kinds(session: AsyncSession, remittance: Remittance) -> list[tuple[str, str, int, int]]:
    rows = await session.execute(
        select(RemittanceDifference.kind, RemittanceDifference.member_number,
               RemittanceDifference.expected_cents, RemittanceDifference.remitted_cents)
        .where(RemittanceDifference.remittance_id == remittance.id)
        .order_by(RemittanceDifference.position)
    )  # fmt: skip
    return [(k.value, member, expected, remitted) for k, member, expected, remitted in rows]


def refused(error: pytest.ExceptionInfo[RuleViolation]) -> list[str]:
    return [problem.code for problem in error.value.problems]


async def test_within_the_threshold_the_month_is_invoiced_and_trued_up_to_the_cent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        # given A remitted at 3000 instead of the 4000 rate: 15000 against 16000
        sent = roster((A, plan, EMP, 3000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 4000))
        # when
        result = (await submit(session, group, submission(sent))).remittance
        # then: variance -1000, within 2500: accepted
        assert (result.status, result.expected_cents, result.variance_cents) == (
            RemittanceStatus.ACCEPTED, 16000, -1000,
        )  # fmt: skip
        assert result.threshold_cents == 2500
        assert await kinds(session, result) == [("RATE_MISMATCH", A, 4000, 3000)]
        # the invoice asks the expected 16000, line by line, explained
        invoice = await session.get_one(Invoice, result.invoice_id)
        assert (invoice.month, invoice.status, invoice.total_cents) == (
            DEC, InvoiceStatus.ISSUED, 16000,
        )  # fmt: skip
        lines = (await session.execute(
            select(InvoiceLine.amount_cents, InvoiceLine.explanation)
            .where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.amount_cents)
        )).all()  # fmt: skip
        assert [cents for cents, _ in lines] == [4000, 4000, 8000]
        assert any("remitted $30.00" in why and "$40.00" in why for _, why in lines)
        # the true-up writes the tolerated 1000 off that invoice: the ledger charges 15000
        assert await entries(session, group) == [
            ("INVOICE", 16000, None), ("WRITE_OFF", -1000, "SELF_BILL_TRUE_UP"),
        ]  # fmt: skip
        assert await ledger_sum(session, group.id) == 15000
        # and the group's $150.00 pays the month in full: nothing open, nothing past due
        await record_payment(
            session, group_id=group.id, amount_cents=15000, method=PaymentMethod.CHECK,
            received_date=TODAY, reference="1001", idempotency_key="pay-dec", user_id=None,
            audit=trail(),
        )  # fmt: skip
        assert await ledger_sum(session, group.id) == 0
        await session.refresh(invoice)
        assert invoice.status is InvoiceStatus.PAID
        balance = (await balances(session, group_ids=[group.id], as_of=dt.date(2027, 2, 1)))[
            group.id
        ]
        assert (balance.total, balance.past_due, balance.credit) == (0, 0, 0)


async def test_an_overage_within_the_threshold_is_charged_as_an_adjustment(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        sent = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8500), (C, plan, EMP, 4000))
        result = (await submit(session, group, submission(sent))).remittance
        assert (result.status, result.variance_cents) == (RemittanceStatus.ACCEPTED, 500)
        assert await entries(session, group) == [
            ("INVOICE", 16000, None), ("ADJUSTMENT", 500, "SELF_BILL_TRUE_UP"),
        ]  # fmt: skip
        assert await ledger_sum(session, group.id) == 16500


async def test_credit_already_applied_is_trued_up_by_write_off_then_adjustment(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        # given the group's check of $152.00 arrived before the remittance was accepted
        await record_payment(
            session, group_id=group.id, amount_cents=15200, method=PaymentMethod.CHECK,
            received_date=TODAY, reference="1002", idempotency_key="pay-early", user_id=None,
            audit=trail(),
        )  # fmt: skip
        sent = roster((A, plan, EMP, 3000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 4000))
        await submit(session, group, submission(sent))
        # then: 15200 paid the invoice when entered, 800 was left open and is written off,
        # the other 200 of the true-up is a credit: the group paid 200 more than it remitted
        assert await entries(session, group) == [
            ("PAYMENT", -15200, None), ("INVOICE", 16000, None),
            ("WRITE_OFF", -800, "SELF_BILL_TRUE_UP"), ("ADJUSTMENT", -200, "SELF_BILL_TRUE_UP"),
        ]  # fmt: skip
        assert await ledger_sum(session, group.id) == -200
        status = await session.scalar(select(Invoice.status).where(Invoice.group_id == group.id))
        assert status is InvoiceStatus.PAID


async def test_beyond_the_threshold_every_kind_of_difference_is_an_exception(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        await add_subscriber_d(session, group)  # expected now 20000, threshold still 2500
        # given: A short by 500, B at the wrong tier, D under another plan, someone who is
        # not enrolled, and C left out: 15500 against 20000
        sent = roster(
            (A, plan, EMP, 3500), (B, plan, EMP, 4000), (D, "OTHER-PLAN", EMP, 4000),
            ("99999999999", plan, EMP, 4000),
        )  # fmt: skip
        result = (await submit(session, group, submission(sent))).remittance
        # then
        assert (result.status, result.expected_cents, result.variance_cents) == (
            RemittanceStatus.EXCEPTION, 20000, -4500,
        )  # fmt: skip
        assert await kinds(session, result) == [
            ("RATE_MISMATCH", A, 4000, 3500), ("TIER_MISMATCH", B, 8000, 4000),
            ("PLAN_MISMATCH", D, 4000, 4000), ("REMITTED_NOT_ENROLLED", "99999999999", 0, 4000),
            ("ENROLLED_NOT_REMITTED", C, 4000, 0),
        ]  # fmt: skip
        messages = list(await session.scalars(select(RemittanceDifference.message)))
        assert any("enrolled at EMPLOYEE_SPOUSE ($80.00)" in m for m in messages)
        assert any("not on the remittance" in m for m in messages)
        # nothing is posted
        assert result.invoice_id is None
        assert await entries(session, group) == []
        lines = await session.scalar(
            select(func.count()).where(RemittanceLine.remittance_id == result.id)
        )
        assert lines == 4


async def _exception(session: AsyncSession) -> tuple[Group, str, Remittance]:
    group, plan = await self_billed(session)
    sent = roster((A, plan, EMP, 4000), (B, plan, EMP, 4000), (C, plan, EMP, 4000))
    result = (await submit(session, group, submission(sent, key="exc"))).remittance
    assert (result.status, result.variance_cents) == (RemittanceStatus.EXCEPTION, -4000)
    return group, plan, result


async def resolve(
    session: AsyncSession, remittance: Remittance, decision: RemittanceDecision, reason: str
) -> Remittance:
    return await remittances.resolve(
        session, remittance_id=remittance.id, decision=decision, reason=reason, user_id=None,
        audit=trail(),
    )  # fmt: skip


async def test_a_rep_accepts_an_exception_with_the_same_postings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, _plan, exception = await _exception(session)
        audit = trail()
        accepted = await remittances.resolve(
            session, remittance_id=exception.id, decision=RemittanceDecision.ACCEPT,
            reason="B's spouse left in November; change to follow", user_id=None, audit=audit,
        )  # fmt: skip
        assert (accepted.status, accepted.decision) == (
            RemittanceStatus.ACCEPTED, RemittanceDecision.ACCEPT,
        )  # fmt: skip
        assert await entries(session, group) == [
            ("INVOICE", 16000, None), ("WRITE_OFF", -4000, "SELF_BILL_TRUE_UP"),
        ]  # fmt: skip
        assert await ledger_sum(session, group.id) == 12000
        memo = await session.scalar(select(LedgerEntry.memo).where(LedgerEntry.memo.is_not(None)))
        assert memo is not None
        assert "accepted by a representative: B's spouse left" in memo
        assert {action for action, *_ in audit.events} >= {"invoice.post", "ledger.writeOff"}
        # a decided remittance cannot be decided again
        with pytest.raises(RuleViolation) as again:
            await resolve(session, accepted, RemittanceDecision.REJECT, "no")
        assert refused(again) == ["NOT_AN_EXCEPTION"]


async def test_a_rep_rejects_an_exception_and_the_group_submits_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan, exception = await _exception(session)
        rejected = await resolve(
            session, exception, RemittanceDecision.REJECT, "Remit B at EMPLOYEE_SPOUSE."
        )
        assert (rejected.status, rejected.resolution_reason) == (
            RemittanceStatus.REJECTED, "Remit B at EMPLOYEE_SPOUSE.",
        )  # fmt: skip
        assert await entries(session, group) == []
        sent = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 4000))
        again = (await submit(session, group, submission(sent, key="k2"))).remittance
        assert (again.status, again.supersedes_id) == (RemittanceStatus.ACCEPTED, None)
        assert await entries(session, group) == [("INVOICE", 16000, None)]


async def test_a_rep_cannot_accept_once_eligibility_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, _plan, exception = await _exception(session)
        await session.execute(
            update(Coverage)
            .where(Coverage.member_id.in_(select(Member.id).where(Member.member_id == C)))
            .values(termination_date=dt.date(2026, 11, 30))
        )
        with pytest.raises(RuleViolation) as changed:
            await resolve(session, exception, RemittanceDecision.ACCEPT, "ok")
        assert refused(changed) == ["EXPECTED_CHANGED"]
        assert await entries(session, group) == []


async def test_a_new_submission_supersedes_the_exception_and_an_accepted_month_is_final(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan, exception = await _exception(session)
        sent = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 4000))
        submitted = await submit(session, group, submission(sent, key="fixed"))
        await session.refresh(exception)
        assert exception.status is RemittanceStatus.SUPERSEDED
        assert exception.superseded_at is not None
        assert (submitted.remittance.status, submitted.remittance.supersedes_id) == (
            RemittanceStatus.ACCEPTED, exception.id,
        )  # fmt: skip
        with pytest.raises(RuleViolation) as final:
            await submit(session, group, submission(sent, key="third"))
        assert refused(final) == ["ALREADY_ACCEPTED"]
        with pytest.raises(RuleViolation) as late:
            await resolve(session, exception, RemittanceDecision.ACCEPT, "ok")
        assert refused(late) == ["NOT_AN_EXCEPTION"]


async def test_the_same_key_returns_the_first_result_and_other_input_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        sent = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 4000))
        first = await submit(session, group, submission(sent, key="same"))
        again = await submit(session, group, submission(sent, key="same"))
        assert (again.replayed, again.remittance.id) == (True, first.remittance.id)
        # the same lines sent as CSV are the same request
        csv = await submit(session, group, submission(sent, "same", RemittanceSource.CSV))
        assert csv.replayed
        other = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 3999))
        with pytest.raises(RuleViolation) as reused:
            await submit(session, group, submission(other, key="same"))
        assert refused(reused) == ["IDEMPOTENCY_KEY_REUSED"]
        count = await session.scalar(select(func.count()).where(Remittance.group_id == group.id))
        assert count == 1
        assert await entries(session, group) == [("INVOICE", 16000, None)]


async def test_the_threshold_is_inclusive_and_a_group_may_have_its_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        exactly = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 1500))
        one_more = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 1499))
        first = (await submit(session, group, submission(one_more, key="a"))).remittance
        assert (first.variance_cents, first.status) == (-2501, RemittanceStatus.EXCEPTION)
        second = (await submit(session, group, submission(exactly, key="b"))).remittance
        assert (second.variance_cents, second.status) == (-2500, RemittanceStatus.ACCEPTED)
    async with sessions.begin() as session:
        group = await session.get_one(Group, group.id)
        group.remittance_threshold_cents, group.remittance_threshold_percent = 0, 10
        assert DEFAULTS.for_group(group) == remittances.Thresholds(0, 10)
        group.remittance_threshold_cents, group.remittance_threshold_percent = 500, None
        assert DEFAULTS.for_group(group) == remittances.Thresholds(500, 2)


def test_the_threshold_is_the_larger_of_the_floor_and_the_share() -> None:
    assert threshold_cents(16000, floor_cents=2500, percent=2) == 2500
    assert threshold_cents(200000, floor_cents=2500, percent=2) == 4000
    assert threshold_cents(125, floor_cents=0, percent=2) == 3  # 2.5 cents, half up
    assert threshold_cents(16000, floor_cents=0, percent=10) == 1600


async def test_a_group_that_is_not_self_billed_or_a_month_it_cannot_remit_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        sent = roster((A, plan, EMP, 4000), (B, plan, SPOUSE, 8000), (C, plan, EMP, 4000))
        for month, code in (
            (dt.date(2026, 8, 1), "MONTH_OUTSIDE_COVERAGE"), (dt.date(2027, 2, 1), "TOO_EARLY"),
        ):  # fmt: skip
            late = remittances.Submission(month, 16000, sent, RemittanceSource.LINES, "m")
            with pytest.raises(RuleViolation) as error:
                await submit(session, group, late)
            assert refused(error) == [code]
        # a month the group was already invoiced for (as a list-billed group, say)
        session.add(Invoice(group_id=group.id, month=DEC, status=InvoiceStatus.DRAFT,
                            due_date=DEC, total_cents=0))  # fmt: skip
        await session.flush()
        with pytest.raises(RuleViolation) as billed:
            await submit(session, group, submission(sent))
        assert refused(billed) == ["MONTH_ALREADY_BILLED"]
        group.billing_mode = BillingMode.LIST_BILL
        with pytest.raises(RuleViolation) as listed:
            await submit(session, group, submission(sent))
        assert refused(listed) == ["NOT_SELF_BILLED"]
        assert (
            await session.scalar(select(func.count()).where(Remittance.group_id == group.id)) == 0
        )


async def test_the_roster_must_add_up_and_name_each_member_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan = await self_billed(session)
        sent = roster((A, plan, EMP, 4000), (A, plan, SPOUSE, 8000), ("", plan, EMP, 4000))
        wrong = remittances.Submission(DEC, 100, sent, RemittanceSource.LINES, "k")
        with pytest.raises(RuleViolation) as error:
            await submit(session, group, wrong)
        problems = {(p.code, p.field) for p in error.value.problems}
        assert problems == {
            ("DUPLICATE_MEMBER", ("lines", "1", "memberId")),
            ("LINE_INVALID", ("lines", "2", "memberId")),
            ("AMOUNT_NOT_SUM_OF_LINES", ("amount",)),
        }


def test_a_csv_roster_becomes_the_same_lines() -> None:
    text = (
        "\ufefftier,member_id,amount,plan_code\r\n"
        "EMPLOYEE,90000000000,40,dppo\r\n"
        "\r\n"
        "employee_spouse, 90000000100 ,80.00,DPPO\r\n"
    )
    assert remittance_csv.parse(text) == [
        RosterLine(2, A, "DPPO", EMP, 4000), RosterLine(4, B, "DPPO", SPOUSE, 8000),
    ]  # fmt: skip
    assert remittance_csv.parse(remittance_csv.template())[0].amount_cents == 4000


def test_a_csv_with_a_bad_line_is_refused_whole_with_the_line_number() -> None:
    text = (
        "member_id,plan_code,tier,amount\n"
        "90000000000,DPPO,EMPLOYEE,40.00\n"
        "90000000100,DPPO,SPOUSE,$80\n"
        "90000000000,DPPO,EMPLOYEE,40.00\n"
        "90000000200,DPPO\n"
    )
    with pytest.raises(RuleViolation) as error:
        remittance_csv.parse(text)
    said = [(p.code, p.field, p.message.split(":")[0]) for p in error.value.problems]
    assert said == [
        ("CSV_LINE_INVALID", ("csv",), "Line 3"), ("CSV_LINE_INVALID", ("csv",), "Line 3"),
        ("CSV_LINE_INVALID", ("csv",), "Line 5"), ("CSV_LINE_INVALID", ("csv",), "Line 4"),
    ]  # fmt: skip
    assert "tier must be one of EMPLOYEE" in error.value.problems[0].message
    assert "already on line 2" in error.value.problems[3].message


@pytest.mark.parametrize(
    "text",
    ["", "90000000000,DPPO,EMPLOYEE,40.00\n", "member_id,plan,tier,amount\n", "member_id\n"],
)
def test_a_csv_without_the_documented_header_is_refused(text: str) -> None:
    with pytest.raises(RuleViolation) as error:
        remittance_csv.parse(text)
    assert [p.code for p in error.value.problems] == ["CSV_INVALID"]


_LINE = st.tuples(
    st.sampled_from(["m1", "m2", "m3", "m4", "m5"]),
    st.sampled_from(["P1", "P2"]),
    st.sampled_from(list(CoverageTier)),
    st.integers(min_value=0, max_value=50000),
)


@given(owed=st.lists(_LINE, unique_by=lambda line: line[0]),
       sent=st.lists(_LINE, min_size=1, unique_by=lambda line: line[0]))  # fmt: skip
def test_the_differences_always_add_up_to_the_variance(
    owed: list[tuple[str, str, CoverageTier, int]], sent: list[tuple[str, str, CoverageTier, int]]
) -> None:
    expected = [ExpectedLine(*line) for line in owed]
    lines = roster(*sent)
    found = differences(DEC, expected, lines)
    variance = sum(line.amount_cents for line in lines) - sum(line.cents for line in expected)
    assert sum(d.remitted_cents - d.expected_cents for d in found) == variance
    assert len({d.member_id for d in found}) == len(found)
    assert all(d.kind in Kind for d in found)
