"""Concurrent payments on PostgreSQL, with real committed transactions (issue 7: "the
same idempotency key fired concurrently executes once; two concurrent payments never
over-allocate an invoice").

The rows bypass the rolled-back test transaction, so each test works on a group of its
own and removes it in a ``finally``; the ledger's append-only triggers are switched off
for that clean-up only, inside its transaction (the test database's owner may)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.adjustments import post_adjustment
from api.services.balances import balances
from api.services.ledger import post_invoice
from api.services.ledger_requests import Posted, fingerprint_of, once
from api.services.payments import RecordedPayment, record_payment
from db.models import (
    Group,
    Invoice,
    LedgerEntry,
    LedgerEntryKind,
    LedgerReason,
    LedgerRequest,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from tests.ledger_support import issued_invoice, trail

pytestmark = pytest.mark.postgres_only

JAN = dt.date(2027, 1, 1)
APPEND_ONLY_TRIGGERS = {
    "ledger_entries": "tr_ledger_entries_append_only",
    "payment_allocations": "tr_payment_allocations_append_only",
}


@pytest.fixture
async def group(committing: async_sessionmaker[AsyncSession]) -> AsyncIterator[int]:
    """A committed copy of a seeded group, without invoices or payments, removed after."""
    async with committing() as session:
        row = (await session.execute(select(Group).limit(1))).scalar_one()
        copy = {
            c.key: getattr(row, c.key)
            for c in Group.__table__.columns
            if c.key not in {"id", "created_at", "updated_at"}
        }
        copy["group_number"] = f"GL{uuid.uuid4().hex[:10]}"
        pk = (await session.execute(insert(Group).values(**copy).returning(Group.id))).scalar_one()
        await session.commit()
    try:
        yield int(pk)
    finally:
        await _remove(committing, int(pk))


async def _remove(sessions: async_sessionmaker[AsyncSession], group: int) -> None:
    async with sessions() as session:
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        payments = select(Payment.id).where(Payment.group_id == group)
        await session.execute(
            delete(PaymentAllocation).where(PaymentAllocation.payment_id.in_(payments))
        )
        await session.execute(delete(LedgerRequest).where(LedgerRequest.group_id == group))
        await session.execute(delete(LedgerEntry).where(LedgerEntry.group_id == group))
        await session.execute(delete(Payment).where(Payment.group_id == group))
        await session.execute(delete(Invoice).where(Invoice.group_id == group))
        await session.execute(delete(Group).where(Group.id == group))
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        await session.commit()


async def _pay(
    sessions: async_sessionmaker[AsyncSession], group: int, cents: int, key: str
) -> RecordedPayment:
    async with sessions() as session:
        recorded = await record_payment(
            session,
            group_id=group,
            amount_cents=cents,
            method=PaymentMethod.ACH,
            received_date=JAN,
            reference=None,
            idempotency_key=key,
            user_id=None,
            audit=trail(),
        )
        await session.commit()
        return recorded


async def _invoice(sessions: async_sessionmaker[AsyncSession], group: int, cents: int) -> None:
    async with sessions() as session:
        invoice = await issued_invoice(session, group, JAN, total_cents=cents)
        await post_invoice(session, invoice=invoice, user_id=None, audit=trail())
        await session.commit()


async def test_a_key_fired_concurrently_records_one_payment(
    committing: async_sessionmaker[AsyncSession], group: int
) -> None:
    # given
    await _invoice(committing, group, 5000)
    # when: the same request four times at once
    results = await asyncio.gather(*(_pay(committing, group, 7000, "racing") for _ in range(4)))
    # then: one payment, entered and applied once; the others return it
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert len({r.payment.id for r in results}) == 1
    async with committing() as session:
        count = select(func.count()).where(LedgerEntry.kind == LedgerEntryKind.PAYMENT)
        assert await session.scalar(count.where(LedgerEntry.group_id == group)) == 1
        balance = (await balances(session, group_ids=[group], as_of=JAN))[group]
    assert (balance.total, balance.credit) == (-2000, 2000)


async def test_concurrent_payments_never_over_allocate_an_invoice(
    committing: async_sessionmaker[AsyncSession], group: int
) -> None:
    # given: one invoice of 100.00
    await _invoice(committing, group, 10000)
    # when: four payments of 80.00 at once
    await asyncio.gather(*(_pay(committing, group, 8000, f"p{n}") for n in range(4)))
    # then: the invoice got exactly 100.00, the rest is credit
    async with committing() as session:
        applied = await session.scalar(
            select(func.sum(PaymentAllocation.amount_cents))
            .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
            .where(Invoice.group_id == group)
        )
        balance = (await balances(session, group_ids=[group], as_of=JAN))[group]
    assert int(applied or 0) == 10000
    assert (balance.total, balance.credit, balance.past_due) == (10000 - 32000, 22000, 0)


async def _adjust(sessions: async_sessionmaker[AsyncSession], group: int) -> Posted:
    async with sessions() as session:
        audit = trail()
        posted = await once(
            session, group_id=group, key="late-fee", audit=audit,
            fingerprint=fingerprint_of("adjustment", 2500, "LATE_FEE"),
            post=lambda: post_adjustment(
                session, group_id=group, amount_cents=2500, reason_code=LedgerReason.LATE_FEE,
                memo="Late", user_id=None, audit=audit,
            ),
        )  # fmt: skip
        await session.commit()
        return posted


async def test_an_adjustment_key_fired_concurrently_posts_once(
    committing: async_sessionmaker[AsyncSession], group: int
) -> None:
    results = await asyncio.gather(*(_adjust(committing, group) for _ in range(4)))
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert len({r.entry.id for r in results}) == 1
    async with committing() as session:
        count = select(func.count()).where(LedgerEntry.kind == LedgerEntryKind.ADJUSTMENT)
        assert await session.scalar(count.where(LedgerEntry.group_id == group)) == 1
