"""Invariants of the receivables ledger under any sequence of invoices, payments, returns,
write-offs and adjustments (hypothesis; SPEC §2 Billing: "every balance is derived from
it"): the ledger sums to the balance, allocations never exceed a payment or an invoice,
credit is payments less allocations, credit and open invoices never coexist, statuses
follow the money, and replaying a payment's key changes nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.adjustments import post_adjustment, write_off
from api.services.allocation import Open, match, status_of
from api.services.balances import Balance, balances
from api.services.dates import add_months
from api.services.ledger import post_invoice
from api.services.payments import record_payment, reverse_payment
from db.models import (
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    LedgerEntryKind,
    LedgerReason,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
)
from tests.ledger_support import group_id, issued_invoice, trail

FIRST_MONTH = dt.date(2027, 1, 1)
AS_OF = dt.date(2027, 4, 10)
_keys = itertools.count(1)

OPS = st.one_of(
    st.tuples(st.just("invoice"), st.integers(0, 40_000)),
    st.tuples(st.just("pay"), st.integers(1, 50_000)),
    st.tuples(st.just("replay"), st.integers(0, 0)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("write_off"), st.integers(0, 20)),
    st.tuples(st.just("adjust"), st.integers(-5_000, 5_000).filter(bool)),
)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Run:
    session: AsyncSession
    group: int
    months: int = 0
    payments: list[int] = field(default_factory=list)
    last_key: str | None = None
    last_cents: int = 0


@EXAMPLES
@given(ops=st.lists(OPS, min_size=1, max_size=10))
async def test_any_sequence_keeps_the_ledger_consistent(
    sessions: async_sessionmaker[AsyncSession], ops: list[tuple[str, int]]
) -> None:
    async with sessions() as session, session.begin_nested() as example:
        run = Run(session, await group_id(session, "G100005"))
        for op, n in ops:
            await _apply(run, op, n)
            await _check(session, run.group)
        await example.rollback()


async def _apply(run: Run, op: str, n: int) -> None:
    if op == "invoice":
        await _invoice(run, n)
    elif op in ("pay", "replay"):
        await _pay(run, n, replay=op == "replay")
    elif op == "reverse":
        await _reverse(run, n)
    elif op == "write_off":
        await _write_off(run, n)
    else:
        await post_adjustment(
            run.session,
            group_id=run.group,
            amount_cents=n,
            reason_code=LedgerReason.OTHER,
            memo="property",
            user_id=None,
            audit=trail(),
        )


async def _invoice(run: Run, cents: int) -> None:
    month = add_months(FIRST_MONTH, run.months)
    run.months += 1
    invoice = await issued_invoice(run.session, run.group, month, total_cents=cents)
    await post_invoice(run.session, invoice=invoice, user_id=None, audit=trail())


async def _pay(run: Run, cents: int, *, replay: bool) -> None:
    """A new payment, or the last request sent again (which must change nothing)."""
    if replay and run.last_key is None:
        return
    if not replay:
        run.last_key, run.last_cents = f"prop-{next(_keys)}", cents
    assert run.last_key is not None
    before = await _state(run.session, run.group)
    recorded = await record_payment(
        run.session,
        group_id=run.group,
        amount_cents=run.last_cents,
        method=PaymentMethod.ACH,
        received_date=FIRST_MONTH,
        reference=None,
        idempotency_key=run.last_key,
        user_id=None,
        audit=trail(),
    )
    assert recorded.replayed is replay
    if replay:
        assert await _state(run.session, run.group) == before
    else:
        run.payments.append(recorded.payment.id)


async def _reverse(run: Run, n: int) -> None:
    returnable = [
        pk
        for pk in run.payments
        if (await run.session.get_one(Payment, pk)).status is PaymentStatus.APPLIED
    ]
    if returnable:
        await reverse_payment(
            run.session,
            payment_id=returnable[n % len(returnable)],
            reason="NSF",
            user_id=None,
            audit=trail(),
        )


async def _write_off(run: Run, n: int) -> None:
    """Write off part of the n-th invoice that still has money open."""
    state = await _state(run.session, run.group)
    open_ids = [pk for pk, (asked, applied) in state.invoices.items() if asked - applied > 0]
    if not open_ids:
        return
    pk = open_ids[n % len(open_ids)]
    asked, applied = state.invoices[pk]
    await write_off(
        run.session,
        invoice_id=pk,
        amount_cents=max(1, (asked - applied) // 2),
        reason_code=LedgerReason.SMALL_BALANCE,
        memo="property",
        user_id=None,
        audit=trail(),
    )


@dataclass(frozen=True)
class State:
    """The group's rows as plain values: invoices {id: (asked, applied)}, payments
    {id: (amount, status, applied)}, the entries' total and the adjustments' total."""

    invoices: dict[int, tuple[int, int]]
    statuses: dict[int, InvoiceStatus]
    payments: dict[int, tuple[int, PaymentStatus, int]]
    total: int
    adjustments: int


async def _state(session: AsyncSession, group: int) -> State:
    entries = list(
        await session.execute(
            select(LedgerEntry.kind, LedgerEntry.amount_cents, LedgerEntry.invoice_id).where(
                LedgerEntry.group_id == group
            )
        )
    )
    allocations = list(
        await session.execute(
            select(
                PaymentAllocation.payment_id,
                PaymentAllocation.invoice_id,
                PaymentAllocation.amount_cents,
            )
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(Payment.group_id == group)
        )
    )
    asked: dict[int, int] = defaultdict(int)
    for _kind, cents, invoice in entries:
        if invoice is not None:
            asked[invoice] += cents
    to_invoice: dict[int, int] = defaultdict(int)
    from_payment: dict[int, int] = defaultdict(int)
    for payment, invoice, cents in allocations:
        to_invoice[invoice] += cents
        from_payment[payment] += cents
    payments = await session.execute(
        select(Payment.id, Payment.amount_cents, Payment.status).where(Payment.group_id == group)
    )
    invoices = await session.execute(
        select(Invoice.id, Invoice.status).where(Invoice.group_id == group)
    )
    return State(
        invoices={pk: (cents, to_invoice[pk]) for pk, cents in asked.items()},
        statuses={int(pk): status for pk, status in invoices},
        payments={pk: (amount, status, from_payment[pk]) for pk, amount, status in payments},
        total=sum(cents for _kind, cents, _invoice in entries),
        adjustments=sum(c for k, c, _i in entries if k is LedgerEntryKind.ADJUSTMENT),
    )


async def _check(session: AsyncSession, group: int) -> None:
    state = await _state(session, group)
    balance = (await balances(session, group_ids=[group], as_of=AS_OF))[group]
    open_total = sum(asked - applied for asked, applied in state.invoices.values())
    credit = sum(
        amount - applied
        for amount, status, applied in state.payments.values()
        if status is PaymentStatus.APPLIED
    )
    # the ledger sums to the balance, and the balance decomposes
    assert balance.total == state.total
    assert balance.total == open_total - credit + state.adjustments
    assert balance.credit == credit
    assert sum(_aging(balance)) == open_total
    assert balance.past_due == open_total - balance.aging.current
    # allocations never exceed a payment or an invoice; a returned payment applies nothing
    for amount, status, applied in state.payments.values():
        assert 0 <= applied <= amount
        assert status is PaymentStatus.APPLIED or applied == 0
    for pk, (asked, applied) in state.invoices.items():
        assert applied >= 0
        assert asked - applied >= 0
        assert state.statuses[pk] is status_of(asked=asked, open_cents=asked - applied)
    # credit is applied eagerly: never unapplied money beside an open invoice
    assert credit == 0 or open_total == 0


def _aging(balance: Balance) -> list[int]:
    aging = balance.aging
    return [
        aging.current,
        aging.days_1_to_30,
        aging.days_31_to_60,
        aging.days_61_to_90,
        aging.days_91_plus,
    ]


AMOUNTS = st.lists(st.integers(0, 10_000), max_size=8)


@given(credits=AMOUNTS, debts=AMOUNTS)
def test_matching_applies_oldest_to_oldest_and_never_too_much(
    credits: list[int], debts: list[int]
) -> None:
    # given
    payments = [Open(i, c) for i, c in enumerate(credits)]
    invoices = [Open(100 + i, d) for i, d in enumerate(debts)]
    # when
    matches = match(payments, invoices)
    # then: nothing over-applied, all that can be is, and in order
    for p in payments:
        assert sum(m.cents for m in matches if m.payment_id == p.id) <= p.cents
    for i in invoices:
        assert sum(m.cents for m in matches if m.invoice_id == i.id) <= i.cents
    assert sum(m.cents for m in matches) == min(sum(credits), sum(debts))
    assert all(m.cents > 0 for m in matches)
    order = [(m.payment_id, m.invoice_id) for m in matches]
    assert order == sorted(order)
