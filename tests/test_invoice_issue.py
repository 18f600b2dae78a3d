"""Issuing a draft: checked, entered in the ledger, and announced to the billing contacts
in one transaction; a draft that cannot be issued says what to fix; voiding a draft."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import invoices
from api.services.balances import balances
from api.services.bank_accounts import NewBankAccount, add_bank_account
from api.services.bank_data import cipher_for
from api.services.dates import utc_now
from api.services.payments import record_payment
from api.services.rules import RuleViolation
from api.settings import DEV_BANK_DATA_KEY
from db.models import (
    BankAccountType,
    ContactKind,
    GroupContact,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    LedgerEntry,
    OutboundEmail,
    Payment,
    PaymentMethod,
)
from tests.ledger_support import trail
from tests.test_billing_run import DEC, NOV, OCT, bill, billing_group, issue

CARRIER = "Carrier Health Plan"


async def issued(session: AsyncSession, invoice_id: int | None) -> Invoice:
    invoice = await invoices.locked_invoice(session, invoice_id or 0)
    return await invoices.issue(
        session, invoice, user_id=None, audit=trail(), now=utc_now(), carrier=CARRIER,
        cipher=cipher_for(DEV_BANK_DATA_KEY),
    )  # fmt: skip


def codes(refused: pytest.ExceptionInfo[RuleViolation]) -> list[str]:
    return [problem.code for problem in refused.value.problems]


async def test_an_issued_invoice_is_in_the_ledger_and_its_contacts_are_told(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given a November draft of 20000 cents and a billing contact
        group, _, _ = await billing_group(session)
        address = "ap@billing-test.example"
        session.add(GroupContact(group_id=group.id, kind=ContactKind.BILLING, name="Bill Payer",
                                 email=address, email_key=address))  # fmt: skip
        draft = await bill(session, group, NOV)
        # when it is issued
        invoice = await issued(session, draft.invoice_id)
        # then it is ISSUED, entered once in the ledger, and the bill-ready email is queued
        assert (invoice.status, invoice.total_cents) == (InvoiceStatus.ISSUED, 20000)
        entries = list(await session.scalars(
            select(LedgerEntry.amount_cents).where(LedgerEntry.invoice_id == invoice.id)
        ))  # fmt: skip
        assert entries == [20000]
        email = await session.scalar(
            select(OutboundEmail).where(OutboundEmail.related_id == str(invoice.id))
        )
        assert email is not None
        assert email.to_address == "ap@billing-test.example"
        assert "$200.00" in email.body_text
        assert "December 01, 2026" not in email.body_text  # due on the 1st of November
        assert "November 01, 2026" in email.body_text
        # and issuing it again is refused
        with pytest.raises(RuleViolation) as refused:
            await issued(session, invoice.id)
        assert codes(refused) == ["NOT_DRAFT"]


async def test_a_draft_without_a_rate_in_force_is_not_issued(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given a draft for a month no rate schedule covers (the schedules end in 2027)
        group, _, _ = await billing_group(session)
        draft = await bill(session, group, dt.date(2028, 1, 1))
        # when it is issued, then it is refused, naming the members and what to do
        with pytest.raises(RuleViolation) as refused:
            await issued(session, draft.invoice_id)
        assert codes(refused) == ["RATE_MISSING"]
        assert "900000000" in refused.value.problems[0].message
        assert "rate schedule" in refused.value.problems[0].message


async def test_a_subscriber_already_billed_for_the_month_is_not_billed_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given December issued, and a hand-made draft billing A's December again
        group, plan_id, members = await billing_group(session)
        december = await bill(session, group, DEC)
        await issue(session, december.invoice_id)
        extra = Invoice(group_id=group.id, month=dt.date(2027, 2, 1), status=InvoiceStatus.DRAFT,
                        due_date=dt.date(2027, 2, 1), total_cents=4000)  # fmt: skip
        session.add(extra)
        await session.flush()
        session.add(InvoiceLine(invoice_id=extra.id, member_id=members["A"].id,
                                group_plan_id=plan_id, tier="EMPLOYEE", service_month=DEC,
                                kind=InvoiceLineKind.PREMIUM, rate_cents=4000, amount_cents=4000,
                                explanation="test"))  # fmt: skip
        await session.flush()
        # when it is issued, then it is refused
        with pytest.raises(RuleViolation) as refused:
            await issued(session, extra.id)
        assert codes(refused) == ["BILLED_TWICE"]


async def test_a_draft_is_voided_with_a_reason(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        group, _, _ = await billing_group(session)
        draft = await invoices.locked_invoice(
            session, (await bill(session, group, NOV)).invoice_id or 0
        )
        with pytest.raises(RuleViolation) as blank:
            await voided(session, draft, " ")
        assert codes(blank) == ["REASON_REQUIRED"]
        assert (
            await voided(session, draft, "Group asked to hold November")
        ).status is InvoiceStatus.VOID
        with pytest.raises(RuleViolation) as again:
            await voided(session, draft, "twice")
        assert codes(again) == ["ALREADY_VOID"]
        # a new run of the month builds a fresh draft beside the void one
        assert (await bill(session, group, NOV)).outcome == "CREATED"


async def test_voiding_an_issued_invoice_releases_its_payment_to_the_next_invoice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given October and November issued (20000 each) and 20000 paid on October
        group, _, _ = await billing_group(session)
        october = await issued(session, (await bill(session, group, OCT)).invoice_id)
        november = await issued(session, (await bill(session, group, NOV)).invoice_id)
        await record_payment(session, group_id=group.id, amount_cents=20000,
                             method=PaymentMethod.CHECK, received_date=NOV, reference="CHK",
                             idempotency_key="oct", user_id=None, audit=trail())  # fmt: skip
        assert october.status is InvoiceStatus.PAID
        # when October is voided (billed in error)
        await voided(session, october, "Billed in error")
        # then it asks nothing, and its payment pays November instead
        await session.refresh(november)
        assert (october.status, november.status) == (InvoiceStatus.VOID, InvoiceStatus.PAID)
        balance = (await balances(session, group_ids=[group.id], as_of=DEC))[group.id]
        assert (balance.total, balance.credit, balance.past_due) == (0, 0, 0)
        # and the next run bills October again, as a retro line
        december = await bill(session, group, DEC)
        retro = await session.scalar(
            select(func.sum(InvoiceLine.amount_cents)).where(
                InvoiceLine.invoice_id == december.invoice_id, InvoiceLine.service_month == OCT
            )
        )
        assert retro == 20000


async def voided(session: AsyncSession, invoice: Invoice, reason: str) -> Invoice:
    return await invoices.void(session, invoice, reason=reason, now=utc_now(), user_id=None,
                               audit=trail())  # fmt: skip


async def test_a_group_on_autopay_is_debited_what_is_due_when_its_invoice_is_issued(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        # given a group paying by autopay from a checking account
        group, _, _ = await billing_group(session)
        new = NewBankAccount("Billing Test Co", BankAccountType.CHECKING, "011000015",
                             "000123456789", autopay=True)  # fmt: skip
        await add_bank_account(session, group_id=group.id, new=new, user_id=None,
                               cipher=cipher_for(DEV_BANK_DATA_KEY))  # fmt: skip
        # when its November invoice is issued
        invoice = await issued(session, (await bill(session, group, NOV)).invoice_id)
        # then the account is debited the total once, and the invoice is paid
        payments = list(await session.scalars(select(Payment).where(Payment.group_id == group.id)))
        assert [(p.amount_cents, p.method, p.reference) for p in payments] == [
            (20000, PaymentMethod.ACH, "ACH ****6789")
        ]
        assert invoice.status is InvoiceStatus.PAID
