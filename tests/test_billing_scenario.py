"""The hand-computed billing scenario of issue 7: three subscribers over six months, a
retro spouse add, a retro termination, a rate change at renewal, a partial payment, an
overpayment and an NSF return; every invoice total, line, status and balance to the cent.

Rates (tests/test_billing_run.py): 2026 EMPLOYEE 4000, EMPLOYEE_SPOUSE 8000, FAMILY 12000;
2027 EMPLOYEE_SPOUSE 8800, FAMILY 13200. A and C are EMPLOYEE, B FAMILY, from September.

| step | event                                   | lines (cents)                    | total |
|------|-----------------------------------------|----------------------------------|------:|
| 1    | September issued; check P1 15000        | A 4000, B 12000, C 4000          | 20000 |
| 2    | October issued; P2 30000 (overpays)     | A 4000, B 12000, C 4000          | 20000 |
| 3    | A's spouse from 1 Oct; C ended 30 Sep   | (retro: both after October)      |       |
| 4    | November issued (credit pays 5000)      | A 8000, B 12000; A Oct +4000,    | 20000 |
|      |                                         | C Oct -4000                      |       |
| 5    | P2 returned NSF                         |                                  |       |
| 6    | December issued                         | A 8000, B 12000                  | 20000 |
| 7    | January issued (renewal rates)          | A 8800, B 13200                  | 22000 |

| after | statuses (open cents)                                   | balance | credit |
|-------|---------------------------------------------------------|--------:|-------:|
| 1     | Sep PARTIALLY_PAID (5000)                               |    5000 |      0 |
| 2     | Sep PAID, Oct PAID                                      |   -5000 |   5000 |
| 4     | Nov PARTIALLY_PAID (15000)                              |   15000 |      0 |
| 5     | Sep PARTIALLY_PAID (5000), Oct ISSUED, Nov ISSUED       |   45000 |      0 |
| 6     | Dec ISSUED                                              |   65000 |      0 |
| 7     | Jan ISSUED                                              |   87000 |      0 |
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.balances import balances
from api.services.payments import record_payment, reverse_payment
from db.models import (
    Coverage,
    CoverageTier,
    Group,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
)
from tests.ledger_support import trail
from tests.test_billing_run import DEC, JAN, NOV, OCT, SEP, bill, billing_group, lines
from tests.test_invoice_issue import issued

AS_OF = dt.date(2027, 1, 20)


async def month(session: AsyncSession, group: Group, first: dt.date) -> Invoice:
    return await issued(session, (await bill(session, group, first)).invoice_id)


async def pay(session: AsyncSession, group: Group, cents: int, key: str) -> int:
    recorded = await record_payment(
        session, group_id=group.id, amount_cents=cents, method=PaymentMethod.CHECK,
        received_date=dt.date(2026, 12, 1), reference=key, idempotency_key=key, user_id=None,
        audit=trail(),
    )  # fmt: skip
    return recorded.payment.id


async def statuses(session: AsyncSession, group: Group) -> dict[str, str]:
    rows = await session.execute(
        select(Invoice.month, Invoice.status).where(Invoice.group_id == group.id)
        .order_by(Invoice.month)
    )  # fmt: skip
    return {f"{m:%b}": status.value for m, status in rows}


async def account(session: AsyncSession, group: Group) -> tuple[int, int]:
    balance = (await balances(session, group_ids=[group.id], as_of=AS_OF))[group.id]
    return balance.total, balance.credit


async def test_six_months_of_billing_and_payments_to_the_cent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, plan_id, members = await billing_group(session)
        # 1. September, partly paid
        september = await month(session, group, SEP)
        assert september.total_cents == 20000
        await pay(session, group, 15000, "P1")
        assert await statuses(session, group) == {"Sep": "PARTIALLY_PAID"}
        assert await account(session, group) == (5000, 0)
        # 2. October, and an overpayment
        assert (await month(session, group, OCT)).total_cents == 20000
        p2 = await pay(session, group, 30000, "P2")
        assert await statuses(session, group) == {"Sep": "PAID", "Oct": "PAID"}
        assert await account(session, group) == (-5000, 5000)
        # 3. retro: A's spouse from 1 October, C ended on 30 September
        a_span = await session.scalar(select(Coverage).where(Coverage.member_id == members["A"].id))
        assert a_span is not None
        a_span.termination_date = dt.date(2026, 9, 30)
        session.add(Coverage(member_id=members["A"].id, group_plan_id=plan_id,
                             tier=CoverageTier.EMPLOYEE_SPOUSE, effective_date=OCT))  # fmt: skip
        await session.execute(
            update(Coverage).where(Coverage.member_id == members["C"].id)
            .values(termination_date=dt.date(2026, 9, 30))
        )  # fmt: skip
        # 4. November carries the retro lines; the credit pays 5000 of it
        november = await month(session, group, NOV)
        assert await lines(session, november.id) == [
            ("A", "PREMIUM", "Nov", 8000), ("B", "PREMIUM", "Nov", 12000),
            ("A", "RETRO", "Oct", 4000), ("C", "RETRO", "Oct", -4000),
        ]  # fmt: skip
        assert november.total_cents == 20000
        assert (await statuses(session, group))["Nov"] == "PARTIALLY_PAID"
        assert await account(session, group) == (15000, 0)
        # 5. the overpayment is returned: what it paid is open again
        await reverse_payment(session, payment_id=p2, reason="NSF", user_id=None, audit=trail())
        assert await statuses(session, group) == {
            "Sep": "PARTIALLY_PAID", "Oct": "ISSUED", "Nov": "ISSUED",
        }  # fmt: skip
        assert await account(session, group) == (45000, 0)
        # 6. December, and 7. January at the renewal rates
        december = await month(session, group, DEC)
        assert await lines(session, december.id) == [
            ("A", "PREMIUM", "Dec", 8000), ("B", "PREMIUM", "Dec", 12000),
        ]  # fmt: skip
        assert await account(session, group) == (65000, 0)
        january = await month(session, group, JAN)
        assert await lines(session, january.id) == [
            ("A", "PREMIUM", "Jan", 8800), ("B", "PREMIUM", "Jan", 13200),
        ]  # fmt: skip
        assert await account(session, group) == (87000, 0)
        assert (await statuses(session, group))["Jan"] == InvoiceStatus.ISSUED.value
