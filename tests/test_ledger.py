"""The receivables ledger (SPEC §2 Billing: payments, account ledger, aging): a scenario
computed by hand and asserted to the cent, idempotent payments, returns, adjustments and
write-offs, balances for many groups in a fixed number of statements, and the database's
own refusals (append-only entries, the sign convention, one open invoice per month)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.adjustments import post_adjustment, write_off
from api.services.balances import Aging, Balance, balances
from api.services.ledger import post_invoice
from api.services.payments import record_payment, reverse_payment
from api.services.rules import RuleViolation
from db.models import (
    AuditEvent,
    Group,
    Invoice,
    InvoiceLineKind,
    InvoiceStatus,
    LedgerEntry,
    LedgerEntryKind,
    LedgerReason,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
)
from tests.helpers import StatementCounter
from tests.ledger_support import (
    allocations,
    group_id,
    issued_invoice,
    ledger_sum,
    rep_id,
    statuses,
    subscribers,
    trail,
)

REFUSED = (IntegrityError, DBAPIError)
JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)
OPEN, PART, PAID = InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    async with sessions() as session:
        return session


def _codes(error: RuleViolation) -> list[str]:
    return [problem.code for problem in error.problems]


async def _pay(
    session: AsyncSession,
    group: int,
    cents: int,
    day: dt.date,
    key: str,
    method: PaymentMethod = PaymentMethod.CHECK,
) -> Payment:
    recorded = await record_payment(
        session,
        group_id=group,
        amount_cents=cents,
        method=method,
        received_date=day,
        reference=f"ref {key}",
        idempotency_key=key,
        user_id=None,
        audit=trail(),
    )
    return recorded.payment


async def _posted(session: AsyncSession, group: int, month: dt.date, cents: int) -> Invoice:
    invoice = await issued_invoice(session, group, month, total_cents=cents)
    await post_invoice(session, invoice=invoice, user_id=None, audit=trail())
    return invoice


# The scenario, by hand. Three subscribers; January bills 45.00 + 97.50 + 120.25 = 262.75;
# February bills the same plus a retro line of 30.00 (B's January at a higher tier): 292.75.
#
# | step              | applied                      | Jan open | Feb open | credit | total  |
# | post Jan (262.75) | -                            | 262.75   | -        | 0      | 262.75 |
# | P1 check 100.00   | P1→Jan 100.00                | 162.75   | -        | 0      | 162.75 |
# | P2 ACH 200.00     | P2→Jan 162.75                | 0        | -        | 37.25  | -37.25 |
# | post Feb (292.75) | P2→Feb 37.25 (the credit)    | 0        | 255.50   | 0      | 255.50 |
# | P1 returned (NSF) | P1→Jan -100.00               | 100.00   | 255.50   | 0      | 355.50 |
# | P3 wire 400.00    | P3→Jan 100.00, →Feb 255.50   | 0        | 0        | 44.50  | -44.50 |
#
# Aging on 2027-02-10, before P3: January is 40 days past due (31-60), February 9 (1-30).
RATES = (4500, 9750, 12025)
RETRO = 3000


async def test_the_hand_computed_scenario_to_the_cent(session: AsyncSession) -> None:
    # given: three subscribers of a group without invoices
    group = await group_id(session)
    subs = [
        dataclasses.replace(line, cents=cents)
        for line, cents in zip(await subscribers(session, group, 3), RATES, strict=True)
    ]
    retro = dataclasses.replace(subs[1], cents=RETRO, kind=InvoiceLineKind.RETRO, service_month=JAN)
    jan = await issued_invoice(session, group, JAN, lines=subs)
    assert jan.total_cents == 26275

    # when / then, step by step
    await post_invoice(session, invoice=jan, user_id=None, audit=trail())
    await _expect(session, group, total=26275, credit=0, months={JAN: OPEN})
    p1 = await _pay(session, group, 10000, dt.date(2026, 12, 28), "p1")
    await _expect(session, group, total=16275, credit=0, months={JAN: PART})
    p2 = await _pay(session, group, 20000, dt.date(2027, 1, 5), "p2", PaymentMethod.ACH)
    await _expect(session, group, total=-3725, credit=3725, months={JAN: PAID})
    feb = await issued_invoice(session, group, FEB, lines=[*subs, retro])
    assert feb.total_cents == 29275
    await post_invoice(session, invoice=feb, user_id=None, audit=trail())
    await _expect(session, group, total=25550, credit=0, months={JAN: PAID, FEB: PART})
    await reverse_payment(
        session,
        payment_id=p1.id,
        reason="NSF",
        user_id=None,
        audit=trail(),
        returned_on=dt.date(2027, 1, 20),
    )
    await _expect(session, group, total=35550, credit=0, months={JAN: PART, FEB: PART})
    assert await balances(session, group_ids=[group], as_of=dt.date(2027, 2, 10)) == {
        group: Balance(group, 35550, 35550, 0, Aging(0, 25550, 10000, 0, 0), None)
    }
    p3 = await _pay(session, group, 40000, dt.date(2027, 2, 12), "p3", PaymentMethod.WIRE)
    await _expect(session, group, total=-4450, credit=4450, months={JAN: PAID, FEB: PAID})

    # then: the allocations, the ledger and the balance afterwards
    assert await allocations(session, group) == [
        (p1.id, jan.id, 10000),
        (p2.id, jan.id, 16275),
        (p2.id, feb.id, 3725),
        (p1.id, jan.id, -10000),
        (p3.id, jan.id, 10000),
        (p3.id, feb.id, 25550),
    ]
    entries = await session.execute(
        select(LedgerEntry.kind, LedgerEntry.amount_cents, LedgerEntry.entry_date)
        .where(LedgerEntry.group_id == group)
        .order_by(LedgerEntry.id)
    )
    assert [tuple(row) for row in entries] == [
        (LedgerEntryKind.INVOICE, 26275, dt.date(2026, 12, 15)),
        (LedgerEntryKind.PAYMENT, -10000, dt.date(2026, 12, 28)),
        (LedgerEntryKind.PAYMENT, -20000, dt.date(2027, 1, 5)),
        (LedgerEntryKind.INVOICE, 29275, dt.date(2027, 1, 15)),
        (LedgerEntryKind.PAYMENT_REVERSAL, 10000, dt.date(2027, 1, 20)),
        (LedgerEntryKind.PAYMENT, -40000, dt.date(2027, 2, 12)),
    ]
    assert await balances(session, group_ids=[group], as_of=dt.date(2027, 2, 15)) == {
        group: Balance(group, -4450, 0, 4450, Aging(), dt.date(2027, 2, 28))
    }


async def _expect(
    session: AsyncSession,
    group: int,
    *,
    total: int,
    credit: int,
    months: dict[dt.date, InvoiceStatus],
) -> None:
    balance = (await balances(session, group_ids=[group], as_of=JAN))[group]
    assert (balance.total, balance.credit) == (total, credit)
    assert await ledger_sum(session, group) == total
    assert await statuses(session, group) == months


async def test_aging_buckets_and_paid_through(session: AsyncSession) -> None:
    # given: five monthly invoices of 100.00, the first two paid, then one paid out of order
    group = await group_id(session)
    months = [dt.date(2026, m, 1) for m in range(6, 11)]
    for month in months:
        await _posted(session, group, month, 10000)
    await _pay(session, group, 20000, dt.date(2026, 7, 1), "two")
    # when: measured on 2026-10-01 (due dates 06-01 … 10-01: 122, 92, 61, 30 and 0 days)
    balance = (await balances(session, group_ids=[group], as_of=dt.date(2026, 10, 1)))[group]
    # then: June and July are paid, so paid through July; August is 61 days past due
    assert balance.aging == Aging(current=10000, days_1_to_30=10000, days_61_to_90=10000)
    assert (balance.past_due, balance.total, balance.credit) == (20000, 30000, 0)
    assert balance.paid_through_date == dt.date(2026, 7, 31)
    # and an invoice paid after an open one does not move the paid-through date
    await write_off(
        session,
        invoice_id=await _invoice_id(session, group, months[3]),
        reason_code=LedgerReason.SMALL_BALANCE,
        memo="test",
        user_id=None,
        audit=trail(),
    )
    again = (await balances(session, group_ids=[group], as_of=dt.date(2026, 10, 1)))[group]
    assert again.paid_through_date == dt.date(2026, 7, 31)
    assert again.aging == Aging(current=10000, days_61_to_90=10000)


async def _invoice_id(session: AsyncSession, group: int, month: dt.date) -> int:
    pk = await session.scalar(
        select(Invoice.id).where(Invoice.group_id == group, Invoice.month == month)
    )
    assert pk is not None
    return int(pk)


async def test_the_same_key_and_input_returns_the_first_payment(session: AsyncSession) -> None:
    # given
    group = await group_id(session)
    await _posted(session, group, JAN, 5000)
    first = await _pay(session, group, 7000, dt.date(2026, 12, 20), "same")
    # when
    again = await record_payment(
        session,
        group_id=group,
        amount_cents=7000,
        method=PaymentMethod.CHECK,
        received_date=dt.date(2026, 12, 20),
        reference="ref same",
        idempotency_key="same",
        user_id=None,
        audit=trail(),
    )
    # then: the same payment, entered and applied once
    assert again.replayed
    assert again.payment.id == first.id
    count = select(func.count()).where(LedgerEntry.payment_id == first.id)
    assert await session.scalar(count) == 1
    assert await allocations(session, group) == [
        (first.id, await _invoice_id(session, group, JAN), 5000)
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"amount_cents": 7001},
        {"method": PaymentMethod.WIRE},
        {"received_date": dt.date(2026, 12, 21)},
        {"reference": "another"},
    ],
)
async def test_the_same_key_with_another_input_is_refused(
    session: AsyncSession, change: dict[str, object]
) -> None:
    # given
    group = await group_id(session)
    await _pay(session, group, 7000, dt.date(2026, 12, 20), "same")
    request: dict[str, object] = {
        "group_id": group,
        "amount_cents": 7000,
        "method": PaymentMethod.CHECK,
        "received_date": dt.date(2026, 12, 20),
        "reference": "ref same",
        "idempotency_key": "same",
        "user_id": None,
        "audit": trail(),
    }
    # when / then
    with pytest.raises(RuleViolation) as refused:
        await record_payment(session, **{**request, **change})  # type: ignore[arg-type]
    assert _codes(refused.value) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await session.scalar(select(func.count()).where(Payment.group_id == group)) == 1


async def test_a_key_belongs_to_its_group(session: AsyncSession) -> None:
    one, other = await group_id(session), await group_id(session, "G100003")
    first = await _pay(session, one, 100, JAN, "shared")
    second = await _pay(session, other, 100, JAN, "shared")
    assert first.id != second.id


@pytest.mark.parametrize(
    ("cents", "key", "reference", "code"),
    [
        (0, "k", None, "AMOUNT_NOT_POSITIVE"),
        (-5, "k", None, "AMOUNT_NOT_POSITIVE"),
        (5, " ", None, "IDEMPOTENCY_KEY_INVALID"),
        (5, "k" * 101, None, "IDEMPOTENCY_KEY_INVALID"),
        (5, "k", "r" * 101, "REFERENCE_TOO_LONG"),
    ],
)
async def test_a_bad_payment_is_refused(
    session: AsyncSession, cents: int, key: str, reference: str | None, code: str
) -> None:
    group = await group_id(session)
    with pytest.raises(RuleViolation) as refused:
        await record_payment(
            session,
            group_id=group,
            amount_cents=cents,
            method=PaymentMethod.ACH,
            received_date=JAN,
            reference=reference,
            idempotency_key=key,
            user_id=None,
            audit=trail(),
        )
    assert _codes(refused.value) == [code]


async def test_a_payment_for_no_group_is_refused(session: AsyncSession) -> None:
    with pytest.raises(RuleViolation) as refused:
        await _pay(session, 987654, 100, JAN, "nobody")
    assert _codes(refused.value) == ["GROUP_NOT_FOUND"]


async def test_a_payment_is_reversed_once(session: AsyncSession) -> None:
    # given: a payment that paid an invoice and left a credit
    group = await group_id(session)
    invoice = await _posted(session, group, JAN, 6000)
    payment = await _pay(session, group, 10000, dt.date(2026, 12, 20), "nsf")
    # when
    entry = await reverse_payment(
        session, payment_id=payment.id, reason="NSF", user_id=None, audit=trail()
    )
    # then: the invoice is open again, the credit is gone, a second reversal is refused
    assert (entry.kind, entry.amount_cents) == (LedgerEntryKind.PAYMENT_REVERSAL, 10000)
    assert payment.status is PaymentStatus.RETURNED
    balance = (await balances(session, group_ids=[group], as_of=JAN))[group]
    assert (balance.total, balance.credit, balance.paid_through_date) == (6000, 0, None)
    assert await statuses(session, group) == {JAN: OPEN}
    assert await allocations(session, group) == [
        (payment.id, invoice.id, 6000),
        (payment.id, invoice.id, -6000),
    ]
    with pytest.raises(RuleViolation) as refused:
        await reverse_payment(
            session, payment_id=payment.id, reason="NSF", user_id=None, audit=trail()
        )
    assert _codes(refused.value) == ["PAYMENT_ALREADY_RETURNED"]


async def test_credit_of_another_payment_covers_what_a_return_reopens(
    session: AsyncSession,
) -> None:
    # given: P1 pays January in full, P2 is all credit
    group = await group_id(session)
    jan = await _posted(session, group, JAN, 5000)
    p1 = await _pay(session, group, 5000, dt.date(2026, 12, 20), "p1")
    p2 = await _pay(session, group, 3000, dt.date(2026, 12, 21), "p2")
    # when: P1 comes back
    await reverse_payment(session, payment_id=p1.id, reason="NSF", user_id=None, audit=trail())
    # then: P2's credit is applied to January at once
    assert (await allocations(session, group))[-1] == (p2.id, jan.id, 3000)
    balance = (await balances(session, group_ids=[group], as_of=JAN))[group]
    assert (balance.total, balance.credit) == (2000, 0)
    assert await statuses(session, group) == {JAN: PART}


async def test_an_invoice_is_posted_once_and_only_when_issued(session: AsyncSession) -> None:
    group = await group_id(session)
    invoice = await _posted(session, group, JAN, 5000)
    with pytest.raises(RuleViolation) as twice:
        await post_invoice(session, invoice=invoice, user_id=None, audit=trail())
    draft = await issued_invoice(session, group, FEB, total_cents=100)
    draft.status, draft.issued_at = InvoiceStatus.DRAFT, None
    with pytest.raises(RuleViolation) as not_issued:
        await post_invoice(session, invoice=draft, user_id=None, audit=trail())
    assert _codes(twice.value) == ["INVOICE_ALREADY_POSTED"]
    assert _codes(not_issued.value) == ["INVOICE_NOT_ISSUED"]


async def test_a_zero_invoice_is_paid_when_posted(session: AsyncSession) -> None:
    group = await group_id(session)
    await _posted(session, group, JAN, 0)
    assert await statuses(session, group) == {JAN: PAID}


async def test_adjustments_move_the_total_and_nothing_open(session: AsyncSession) -> None:
    # given
    group, rep = await group_id(session), await rep_id(session)
    await _posted(session, group, JAN, 5000)
    audit = trail(rep)
    # when: a late fee, then a goodwill credit
    fee = await post_adjustment(
        session,
        group_id=group,
        amount_cents=2500,
        reason_code=LedgerReason.LATE_FEE,
        memo="Late fee, 30 days",
        user_id=rep,
        audit=audit,
        entry_date=FEB,
    )
    await post_adjustment(
        session,
        group_id=group,
        amount_cents=-1000,
        reason_code=LedgerReason.GOODWILL,
        memo="Goodwill",
        user_id=rep,
        audit=audit,
        entry_date=FEB,
    )
    # then: total = open - credit + adjustments; January is past due as before
    balance = (await balances(session, group_ids=[group], as_of=FEB))[group]
    assert (balance.total, balance.past_due, balance.credit) == (6500, 5000, 0)
    assert (fee.created_by_user_id, fee.reason_code, fee.memo) == (
        rep,
        LedgerReason.LATE_FEE,
        "Late fee, 30 days",
    )
    assert [event[0] for event in audit.events] == ["ledger.adjustmentPost"]
    with pytest.raises(RuleViolation) as refused:
        await post_adjustment(
            session,
            group_id=group,
            amount_cents=0,
            reason_code=LedgerReason.OTHER,
            memo=" ",
            user_id=rep,
            audit=audit,
        )
    assert _codes(refused.value) == ["AMOUNT_ZERO", "MEMO_MISSING"]


async def test_a_write_off_settles_what_is_left(session: AsyncSession) -> None:
    # given: 99.90 paid of 100.00
    group = await group_id(session)
    invoice = await _posted(session, group, JAN, 10000)
    await _pay(session, group, 9990, JAN, "short")

    async def off(cents: int | None) -> LedgerEntry:
        return await write_off(
            session,
            invoice_id=invoice.id,
            amount_cents=cents,
            reason_code=LedgerReason.SMALL_BALANCE,
            memo="Short by 10 cents",
            user_id=None,
            audit=trail(),
        )

    # when / then: more than is open is refused; the rest is written off and PAID
    with pytest.raises(RuleViolation) as too_much:
        await off(11)
    assert _codes(too_much.value) == ["WRITE_OFF_OUT_OF_RANGE"]
    entry = await off(None)
    assert (entry.kind, entry.amount_cents, entry.invoice_id) == (
        LedgerEntryKind.WRITE_OFF,
        -10,
        invoice.id,
    )
    assert await statuses(session, group) == {JAN: PAID}
    balance = (await balances(session, group_ids=[group], as_of=MAR))[group]
    assert (balance.total, balance.past_due, balance.paid_through_date) == (
        0,
        0,
        dt.date(2027, 1, 31),
    )
    with pytest.raises(RuleViolation) as nothing:
        await off(None)
    assert _codes(nothing.value) == ["NOTHING_OPEN"]


async def test_money_changes_are_audited(session: AsyncSession) -> None:
    # given
    group, rep = await group_id(session), await rep_id(session)
    audit = trail(rep)
    invoice = await issued_invoice(session, group, JAN, total_cents=100)
    # when
    await post_invoice(session, invoice=invoice, user_id=rep, audit=audit)
    recorded = await record_payment(
        session,
        group_id=group,
        amount_cents=100,
        method=PaymentMethod.ACH,
        received_date=JAN,
        reference=None,
        idempotency_key="audited",
        user_id=rep,
        audit=audit,
    )
    await reverse_payment(
        session, payment_id=recorded.payment.id, reason="NSF", user_id=rep, audit=audit
    )
    await audit.flush(session)
    # then
    rows = await session.execute(
        select(AuditEvent.action, AuditEvent.target_type, AuditEvent.actor_user_id)
        .where(AuditEvent.user_agent == "test", AuditEvent.actor_user_id == rep)
        .order_by(AuditEvent.id)
    )
    assert [tuple(row) for row in rows] == [
        ("invoice.post", "Invoice", rep),
        ("payment.record", "Payment", rep),
        ("payment.reverse", "Payment", rep),
    ]


async def test_balances_of_many_groups_take_a_fixed_number_of_statements(
    session: AsyncSession, statements: StatementCounter
) -> None:
    # given: every seeded group with an invoice and a payment
    groups = [int(pk) for pk in await session.scalars(select(Group.id).order_by(Group.id))]
    for n, group in enumerate(groups):
        await _posted(session, group, JAN, 1000 * (n + 1))
        await _pay(session, group, 1500, JAN, f"g{n}")
    counts = []
    # when: one group, then all of them
    for ids in (groups[:1], groups):
        statements.reset()
        found = await balances(session, group_ids=ids, as_of=FEB)
        counts.append(statements.count)
        assert set(found) == set(ids)
    # then
    assert counts[0] == counts[1] <= 3
    assert found[groups[1]].total == 2000 - 1500
    assert found[groups[0]].credit == 500


async def test_a_group_without_entries_owes_nothing(session: AsyncSession) -> None:
    group = await group_id(session, "G100004")
    assert await balances(session, group_ids=[group], as_of=JAN) == {
        group: Balance(group, 0, 0, 0, Aging(), None)
    }


# The database's own refusals.


async def test_ledger_entries_and_allocations_are_append_only(session: AsyncSession) -> None:
    # given
    group = await group_id(session)
    await _posted(session, group, JAN, 5000)
    await _pay(session, group, 5000, JAN, "fixed")
    # when / then: no UPDATE or DELETE, whatever the route
    for stmt in (
        update(LedgerEntry).where(LedgerEntry.group_id == group).values(amount_cents=1),
        delete(LedgerEntry).where(LedgerEntry.group_id == group),
        update(PaymentAllocation).values(amount_cents=1),
        delete(PaymentAllocation),
    ):
        with pytest.raises(REFUSED, match="append-only"):
            async with session.begin_nested():
                await session.execute(stmt.execution_options(synchronize_session=False))
    assert await ledger_sum(session, group) == 0


@pytest.mark.parametrize(
    ("kind", "cents", "link"),
    [
        (LedgerEntryKind.PAYMENT, 100, "payment"),
        (LedgerEntryKind.PAYMENT_REVERSAL, -100, "payment"),
        (LedgerEntryKind.WRITE_OFF, 100, "invoice"),
        (LedgerEntryKind.ADJUSTMENT, 0, None),
        (LedgerEntryKind.INVOICE, 100, None),
        (LedgerEntryKind.PAYMENT, -100, None),
    ],
)
async def test_the_database_holds_the_sign_convention_and_links(
    session: AsyncSession, kind: LedgerEntryKind, cents: int, link: str | None
) -> None:
    group = await group_id(session)
    invoice = await issued_invoice(session, group, JAN, total_cents=100)
    payment = await _pay(session, group, 100, JAN, "links")
    row = {
        "group_id": group,
        "kind": kind,
        "amount_cents": cents,
        "entry_date": JAN,
        "reason_code": LedgerReason.OTHER,
        "invoice_id": invoice.id if link == "invoice" else None,
        "payment_id": payment.id if link == "payment" else None,
    }
    with pytest.raises(REFUSED):
        async with session.begin_nested():
            await session.execute(insert(LedgerEntry).values(**row))


async def test_one_invoice_per_group_and_month_unless_void(session: AsyncSession) -> None:
    group = await group_id(session)
    first = await issued_invoice(session, group, JAN, total_cents=100)
    with pytest.raises(REFUSED):
        async with session.begin_nested():
            await issued_invoice(session, group, JAN, total_cents=200)
    first.status, first.voided_at = InvoiceStatus.VOID, dt.datetime.now(dt.UTC)
    first.void_reason = "Billed the wrong roster"
    await session.flush()
    replacement = await issued_invoice(session, group, JAN, total_cents=200)
    assert replacement.id != first.id
