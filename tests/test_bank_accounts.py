"""Bank accounts and ACH payments as services (SPEC §2 Billing: payments): the ABA check
digit, AES-GCM at rest (nothing readable in the row), one autopay account per group, and
ACH payments that stay idempotent across retries and tell another account apart."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services import ach_payments
from api.services.ach_payments import collect_autopay, pay_by_ach
from api.services.bank_accounts import (
    NewBankAccount,
    add_bank_account,
    autopay_account,
    decrypt,
    remove_bank_account,
    routing_number_valid,
    set_autopay,
)
from api.services.bank_data import BankDataCipher, BankDataError
from api.services.ledger import post_invoice
from api.services.rules import RuleViolation
from api.settings import Settings
from db.models import (
    AchDebit,
    BankAccount,
    BankAccountType,
    Group,
    InvoiceStatus,
    LedgerEntry,
    Payment,
    PaymentAllocation,
)
from tests.ledger_support import group_id, issued_invoice, trail

SECRET = "test-bank-data-key-0123456789abcdef"
ROUTING, OTHER_ROUTING = "021000021", "011000015"
ACCOUNT, OTHER_ACCOUNT = "000123456789", "98765432"
JAN = dt.date(2027, 1, 1)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    async with sessions() as session:
        return session


@pytest.fixture
def cipher() -> BankDataCipher:
    return BankDataCipher(SECRET)


def _codes(error: RuleViolation) -> list[str]:
    return [problem.code for problem in error.problems]


async def _add(
    session: AsyncSession,
    cipher: BankDataCipher,
    group: int,
    account: str = ACCOUNT,
    *,
    routing: str = ROUTING,
    autopay: bool = False,
) -> BankAccount:
    new = NewBankAccount("Acme Payroll", BankAccountType.CHECKING, routing, account, autopay)
    return await add_bank_account(session, group_id=group, new=new, cipher=cipher, user_id=None)


@pytest.mark.parametrize(
    ("routing", "valid"),
    [
        ("021000021", True),  # JPMorgan Chase, New York
        ("011000015", True),  # Federal Reserve Bank of Boston
        ("322271627", True),  # a thrift (prefix 32)
        ("021000022", False),  # check digit off by one
        ("123456789", False),  # 3+14+3+12+35+6+21+56+9 = 159
        ("000000000", False),  # passes the sum, but 00 is no bank's prefix
        ("02100002", False),  # 8 digits
        ("02100002a", False),
        ("\uff10\uff12\uff11" * 3, False),  # full-width digits are not ASCII
    ],
)
def test_routing_numbers_are_checked_by_their_check_digit(routing: str, valid: bool) -> None:
    assert routing_number_valid(routing) is valid


@given(st.from_regex(r"(0[1-9]|1[0-2]|2[1-9]|3[0-2]|6[1-9]|7[0-2]|80)[0-9]{6}", fullmatch=True))
def test_every_single_digit_error_is_caught(prefix_and_body: str) -> None:
    """The weights 3, 7, 1 are prime to 10, so changing any one digit breaks the sum."""
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    check = -sum(w * int(d) for w, d in zip(weights, prefix_and_body, strict=True)) % 10
    routing = prefix_and_body + str(check)
    assert routing_number_valid(routing)
    for position in range(2, 9):  # the prefix digits have their own rule
        for digit in "0123456789":
            if digit != routing[position]:
                typo = routing[:position] + digit + routing[position + 1 :]
                assert not routing_number_valid(typo)


def test_sealed_numbers_open_only_with_their_key_group_and_column(
    cipher: BankDataCipher,
) -> None:
    sealed = cipher.seal(ACCOUNT, group_id=7, column="account")
    assert cipher.open(sealed, group_id=7, column="account") == ACCOUNT
    assert ACCOUNT.encode() not in sealed
    assert cipher.seal(ACCOUNT, group_id=7, column="account") != sealed  # a fresh nonce
    for group, column in ((8, "account"), (7, "routing")):
        with pytest.raises(BankDataError):
            cipher.open(sealed, group_id=group, column=column)
    with pytest.raises(BankDataError):
        BankDataCipher("another-bank-data-key-0123456789abc").open(
            sealed, group_id=7, column="account"
        )
    with pytest.raises(ValueError, match="at least 32"):
        BankDataCipher("short")


def test_production_refuses_the_development_bank_data_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "PORTAL_ENV": "production",
        "PORTAL_SSN_HASH_KEY": "k" * 40,
        "PORTAL_SECRET_KEY": "s" * 40,
        "PORTAL_JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----...",
        "PORTAL_MAIL_MODE": "smtp",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="PORTAL_BANK_DATA_KEY still has its development"):
        Settings()
    monkeypatch.setenv("PORTAL_BANK_DATA_KEY", "short")
    with pytest.raises(ValidationError, match="PORTAL_BANK_DATA_KEY must be at least 32"):
        Settings()
    monkeypatch.setenv("PORTAL_BANK_DATA_KEY", "b" * 40)
    assert Settings().bank_data_key.get_secret_value() == "b" * 40


async def test_the_row_holds_no_readable_number(
    session: AsyncSession, cipher: BankDataCipher
) -> None:
    # given / when
    group = await group_id(session)
    account = await _add(session, cipher, group, "0001-2345 6789")
    # then: last four digits only, and the numbers come back only through decrypt
    assert (account.account_last4, account.routing_last4) == ("6789", "0021")
    numbers = decrypt(account, cipher)
    assert (numbers.routing_number, numbers.account_number) == (ROUTING, ACCOUNT)
    assert ACCOUNT not in repr(numbers)
    assert ROUTING not in repr(numbers)
    raw = (await session.execute(text("SELECT * FROM bank_accounts"))).one()
    for value in raw:
        data = value if isinstance(value, bytes) else str(value).encode()
        assert ACCOUNT.encode() not in data
        assert ROUTING.encode() not in data


async def test_an_account_is_stored_once_and_a_group_keeps_at_most_ten(
    session: AsyncSession, cipher: BankDataCipher
) -> None:
    group = await group_id(session)
    await _add(session, cipher, group)
    with pytest.raises(RuleViolation) as again:
        await _add(session, cipher, group, "000-123-456-789")
    assert _codes(again.value) == ["BANK_ACCOUNT_ALREADY_ADDED"]
    for n in range(9):
        await _add(session, cipher, group, f"5550000{n}")
    with pytest.raises(RuleViolation) as eleventh:
        await _add(session, cipher, group, "55500009")
    assert _codes(eleventh.value) == ["TOO_MANY_BANK_ACCOUNTS"]


async def test_bad_input_is_refused_with_every_problem_at_once(
    session: AsyncSession, cipher: BankDataCipher
) -> None:
    group = await group_id(session)
    new = NewBankAccount(" ", BankAccountType.SAVINGS, "021000022", "12a")
    with pytest.raises(RuleViolation) as refused:
        await add_bank_account(session, group_id=group, new=new, cipher=cipher, user_id=None)
    assert _codes(refused.value) == [
        "HOLDER_NAME_INVALID",
        "ROUTING_NUMBER_INVALID",
        "ACCOUNT_NUMBER_INVALID",
    ]
    assert await session.scalar(select(func.count(BankAccount.id))) == 0


async def test_a_group_has_one_autopay_account(
    session: AsyncSession, cipher: BankDataCipher
) -> None:
    # given two accounts, the first on autopay
    group = await group_id(session)
    first = await _add(session, cipher, group, autopay=True)
    second = await _add(session, cipher, group, OTHER_ACCOUNT)
    assert await autopay_account(session, group) == first
    # when the second is made the autopay account, then the first stops
    await set_autopay(session, account=second, enabled=True)
    assert await autopay_account(session, group) == second
    await session.refresh(first)
    assert first.autopay is False
    # and removing it leaves the group without autopay
    await remove_bank_account(session, account=second)
    assert await autopay_account(session, group) is None
    with pytest.raises(RuleViolation) as removed:
        await set_autopay(session, account=second, enabled=True)
    assert _codes(removed.value) == ["BANK_ACCOUNT_NOT_FOUND"]
    # and the database itself refuses two autopay accounts
    first.autopay = True
    await session.flush()
    third = await _add(session, cipher, group, "44440000")
    second_autopay = text("UPDATE bank_accounts SET autopay = true WHERE id = :id")
    with pytest.raises(IntegrityError):
        await session.execute(second_autopay, {"id": third.id})


async def _pay(
    session: AsyncSession,
    cipher: BankDataCipher,
    group: int,
    account: BankAccount,
    cents: int,
    key: str,
) -> tuple[Payment, bool]:
    recorded = await pay_by_ach(
        session,
        group_id=group,
        bank_account_id=account.id,
        amount_cents=cents,
        idempotency_key=key,
        cipher=cipher,
        user_id=None,
        audit=trail(),
    )
    return recorded.payment, recorded.replayed


async def test_an_ach_payment_is_idempotent_and_tells_accounts_apart(
    session: AsyncSession, cipher: BankDataCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two accounts with the same last four digits
    group = await group_id(session)
    account = await _add(session, cipher, group, "11116789")
    twin = await _add(session, cipher, group, "22226789", routing=OTHER_ROUTING)
    payment, replayed = await _pay(session, cipher, group, account, 12500, "k1")
    assert (payment.reference, payment.received_date, replayed) == (
        "ACH ****6789",
        dt.datetime.now(dt.UTC).date(),
        False,
    )
    # when the same request comes again the next day, after the account was removed
    tomorrow = payment.received_date + dt.timedelta(days=1)
    monkeypatch.setattr(ach_payments, "today", lambda: tomorrow)
    await remove_bank_account(session, account=account)
    again, replayed = await _pay(session, cipher, group, account, 12500, "k1")
    # then it is the first payment
    assert (again.id, replayed) == (payment.id, True)
    # and the key with another account (same last four) or amount is refused
    for other_account, cents in ((twin, 12500), (account, 12501)):
        with pytest.raises(RuleViolation) as reused:
            await _pay(session, cipher, group, other_account, cents, "k1")
        assert _codes(reused.value) == ["IDEMPOTENCY_KEY_REUSED"]
    with pytest.raises(RuleViolation) as reserved:
        await _pay(session, cipher, group, twin, 100, "autopay:invoice:1")
    assert _codes(reserved.value) == ["IDEMPOTENCY_KEY_INVALID"]
    debits = await session.execute(select(AchDebit.payment_id, AchDebit.bank_account_id))
    assert debits.all() == [(payment.id, account.id)]


async def test_autopay_pays_an_issued_invoice_once(
    session: AsyncSession, cipher: BankDataCipher
) -> None:
    # given an issued invoice of a group with an autopay account
    group = await group_id(session)
    invoice = await issued_invoice(session, group, JAN, total_cents=31000)
    await post_invoice(session, invoice=invoice, user_id=None, audit=trail())
    assert await collect_autopay(
        session, group_id=group, invoice_id=invoice.id, amount_cents=31000, cipher=cipher,
        audit=trail(),
    ) is None  # fmt: skip
    await _add(session, cipher, group, autopay=True)

    # when the issue step collects it, twice
    async def collect() -> Payment:
        recorded = await collect_autopay(
            session, group_id=group, invoice_id=invoice.id, amount_cents=31000, cipher=cipher,
            audit=trail(),
        )  # fmt: skip
        assert recorded is not None
        return recorded.payment

    first, second = await collect(), await collect()
    # then one payment paid it
    assert first.id == second.id
    assert first.idempotency_key == f"autopay:invoice:{invoice.id}"
    await session.refresh(invoice)
    assert invoice.status is InvoiceStatus.PAID
    assert await session.scalar(select(func.count(Payment.id))) == 1


@pytest.fixture
async def committed_group(committing: async_sessionmaker[AsyncSession]) -> AsyncIterator[int]:
    """A committed copy of a seeded group, removed with its accounts and payments after."""
    async with committing() as session:
        row = (await session.execute(select(Group).limit(1))).scalar_one()
        skip = {"id", "created_at", "updated_at"}
        copy = {c.key: getattr(row, c.key) for c in Group.__table__.columns if c.key not in skip}
        copy["group_number"] = f"GB{uuid.uuid4().hex[:10]}"
        pk = (await session.execute(insert(Group).values(**copy).returning(Group.id))).scalar_one()
        await session.commit()
    try:
        yield int(pk)
    finally:
        await _remove_group(committing, int(pk))


async def _remove_group(sessions: async_sessionmaker[AsyncSession], group: int) -> None:
    """The ledger is append-only: its triggers are off for this clean-up only."""
    triggers = {
        "ledger_entries": "tr_ledger_entries_append_only",
        "payment_allocations": "tr_payment_allocations_append_only",
    }
    payments = select(Payment.id).where(Payment.group_id == group)
    async with sessions() as session:
        for table, trigger in triggers.items():
            await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        await session.execute(delete(AchDebit).where(AchDebit.payment_id.in_(payments)))
        await session.execute(
            delete(PaymentAllocation).where(PaymentAllocation.payment_id.in_(payments))
        )
        await session.execute(delete(LedgerEntry).where(LedgerEntry.group_id == group))
        await session.execute(delete(Payment).where(Payment.group_id == group))
        await session.execute(delete(BankAccount).where(BankAccount.group_id == group))
        await session.execute(delete(Group).where(Group.id == group))
        for table, trigger in triggers.items():
            await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        await session.commit()


@pytest.mark.postgres_only
async def test_concurrent_ach_payments_with_one_key_pay_once(
    committing: async_sessionmaker[AsyncSession], committed_group: int, cipher: BankDataCipher
) -> None:
    # given a committed account
    async with committing() as session:
        account = await _add(session, cipher, committed_group)
        await session.commit()

    async def attempt() -> tuple[int, bool]:
        async with committing() as session:
            payment, replayed = await _pay(
                session, cipher, committed_group, account, 5000, "same-key"
            )
            await session.commit()
            return payment.id, replayed

    # when five requests with one key race
    results = await asyncio.gather(*(attempt() for _ in range(5)))
    # then one payment was made, debited once, and the others replayed it
    assert len({pk for pk, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False, True, True, True, True]
    async with committing() as session:
        paid = select(func.count(Payment.id)).where(Payment.group_id == committed_group)
        assert await session.scalar(paid) == 1
        debits = select(func.count()).where(AchDebit.bank_account_id == account.id)
        assert await session.scalar(debits) == 1


@pytest.mark.postgres_only
async def test_concurrent_autopay_choices_leave_one_autopay_account(
    committing: async_sessionmaker[AsyncSession], committed_group: int, cipher: BankDataCipher
) -> None:
    async with committing() as session:
        accounts = [await _add(session, cipher, committed_group, f"7070{n}000") for n in range(4)]
        await session.commit()

    async def choose(account: BankAccount) -> None:
        async with committing() as session:
            row = await session.get(BankAccount, account.id)
            assert row is not None
            await set_autopay(session, account=row, enabled=True)
            await session.commit()

    await asyncio.gather(*(choose(account) for account in accounts))
    async with committing() as session:
        on = select(func.count(BankAccount.id)).where(
            BankAccount.group_id == committed_group, BankAccount.autopay.is_(True)
        )
        assert await session.scalar(on) == 1
