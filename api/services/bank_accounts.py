"""A group's bank accounts for ACH payments (SPEC §2 Billing: payments; issue 7: "ACH from
a stored bank account, routing number validated by its checksum; account number encrypted
at rest, only last 4 returned").

Numbers are checked, then sealed (``api.services.bank_data``); nothing here returns them,
except ``decrypt``, which only the ACH debit calls. A group keeps at most
``MAX_ACTIVE_ACCOUNTS`` active accounts, each once, and at most one of them is its autopay
account (the database holds both rules too). Changes to a group's accounts lock the group's
row (``api.services.ledger.lock_group``) so two requests cannot both slip past a limit.
Callers commit and audit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.bank_data import BankDataCipher, BankNumbers
from api.services.dates import utc_now
from api.services.ledger import lock_group
from api.services.rules import Problem, RuleViolation, refuse_if
from db.models import BankAccount, BankAccountStatus, BankAccountType

MAX_ACTIVE_ACCOUNTS = 10
MAX_HOLDER_NAME = 100
ACCOUNT_DIGITS = range(4, 18)
ABA_WEIGHTS = (3, 7, 1) * 3
ABA_PREFIXES = frozenset([*range(1, 13), *range(21, 33), *range(61, 73), 80])
"""First two digits of a routing number: Federal Reserve districts 01-12, thrifts 21-32,
electronic 61-72, traveler's checks 80 (00 is the U.S. government's, not a bank's)."""


@dataclass(frozen=True, slots=True)
class NewBankAccount:
    holder_name: str
    account_type: BankAccountType
    routing_number: str
    account_number: str
    autopay: bool = False


def digits_of(value: str) -> str:
    """The number as typed, without the spaces and hyphens people group digits with."""
    return "".join(ch for ch in value if ch not in " -")


def routing_number_valid(routing: str) -> bool:
    """An ABA routing transit number: 9 digits, a known prefix, and the check digit
    (3·d1 + 7·d2 + d3 + 3·d4 + 7·d5 + d6 + 3·d7 + 7·d8 + d9 ≡ 0 mod 10)."""
    if len(routing) != 9 or not (routing.isascii() and routing.isdigit()):
        return False
    if int(routing[:2]) not in ABA_PREFIXES:
        return False
    return sum(w * int(d) for w, d in zip(ABA_WEIGHTS, routing, strict=True)) % 10 == 0


def account_number_valid(account: str) -> bool:
    return len(account) in ACCOUNT_DIGITS and account.isascii() and account.isdigit()


async def add_bank_account(
    session: AsyncSession,
    *,
    group_id: int,
    new: NewBankAccount,
    cipher: BankDataCipher,
    user_id: int | None,
) -> BankAccount:
    """Store a checked, sealed account; with ``autopay`` it becomes the group's autopay
    account in place of any other."""
    routing, account = digits_of(new.routing_number), digits_of(new.account_number)
    refuse_if(_new_account_problems(new.holder_name, routing, account))
    await lock_group(session, group_id)
    fingerprint = cipher.fingerprint(routing, account)
    refuse_if(await _group_problems(session, group_id, fingerprint))
    row = BankAccount(
        group_id=group_id,
        holder_name=new.holder_name.strip(),
        account_type=new.account_type,
        routing_ciphertext=cipher.seal(routing, group_id=group_id, column="routing"),
        account_ciphertext=cipher.seal(account, group_id=group_id, column="account"),
        number_fingerprint=fingerprint,
        routing_last4=routing[-4:],
        account_last4=account[-4:],
        autopay=False,
        status=BankAccountStatus.ACTIVE,
        created_by_user_id=user_id,
    )
    session.add(row)
    await session.flush()
    if new.autopay:
        await _make_autopay(session, row)
    return row


async def remove_bank_account(session: AsyncSession, *, account: BankAccount) -> BankAccount:
    """Retire an active account (and its autopay); its past payments keep naming it."""
    await lock_group(session, account.group_id)
    await _refresh_active(session, account)
    account.status, account.autopay, account.removed_at = (
        BankAccountStatus.REMOVED,
        False,
        utc_now(),
    )
    await session.flush()
    return account


async def set_autopay(session: AsyncSession, *, account: BankAccount, enabled: bool) -> BankAccount:
    """Make the account the group's autopay account (turning off any other), or stop it."""
    await lock_group(session, account.group_id)
    await _refresh_active(session, account)
    if enabled:
        await _make_autopay(session, account)
    else:
        account.autopay = False
        await session.flush()
    return account


async def active_account(session: AsyncSession, *, group_id: int, account_id: int) -> BankAccount:
    """The group's active account ``account_id``; another group's, a removed or an unknown
    account is ``BANK_ACCOUNT_NOT_FOUND`` alike."""
    stmt = select(BankAccount).where(
        BankAccount.id == account_id,
        BankAccount.group_id == group_id,
        BankAccount.status == BankAccountStatus.ACTIVE,
    )
    row: BankAccount | None = await session.scalar(stmt)
    if row is None:
        raise RuleViolation([ACCOUNT_NOT_FOUND])
    return row


async def autopay_account(session: AsyncSession, group_id: int) -> BankAccount | None:
    """The account to debit when the group's invoice is issued, if it has one."""
    stmt = select(BankAccount).where(
        BankAccount.group_id == group_id,
        BankAccount.autopay.is_(True),
        BankAccount.status == BankAccountStatus.ACTIVE,
    )
    row: BankAccount | None = await session.scalar(stmt)
    return row


def decrypt(account: BankAccount, cipher: BankDataCipher) -> BankNumbers:
    """The full numbers, only to build an ACH debit (``api.services.ach_payments``)."""
    return BankNumbers(
        routing_number=cipher.open(
            account.routing_ciphertext, group_id=account.group_id, column="routing"
        ),
        account_number=cipher.open(
            account.account_ciphertext, group_id=account.group_id, column="account"
        ),
    )


async def _make_autopay(session: AsyncSession, account: BankAccount) -> None:
    """Turn off the group's other autopay account first: the unique index allows one."""
    await session.execute(
        update(BankAccount)
        .where(
            BankAccount.group_id == account.group_id,
            BankAccount.id != account.id,
            BankAccount.autopay.is_(True),
        )
        .values(autopay=False)
        .execution_options(synchronize_session="fetch")
    )
    account.autopay = True
    await session.flush()


async def _refresh_active(session: AsyncSession, account: BankAccount) -> None:
    """As of the lock: a request that removed it meanwhile has committed."""
    await session.refresh(account)
    if account.status is not BankAccountStatus.ACTIVE:
        raise RuleViolation([ACCOUNT_NOT_FOUND])


def _new_account_problems(holder: str, routing: str, account: str) -> list[Problem]:
    problems = [] if 0 < len(holder.strip()) <= MAX_HOLDER_NAME else [HOLDER_NAME_INVALID]
    problems += [] if routing_number_valid(routing) else [ROUTING_NUMBER_INVALID]
    problems += [] if account_number_valid(account) else [ACCOUNT_NUMBER_INVALID]
    return problems


async def _group_problems(session: AsyncSession, group_id: int, fingerprint: str) -> list[Problem]:
    active = select(BankAccount.number_fingerprint).where(
        BankAccount.group_id == group_id, BankAccount.status == BankAccountStatus.ACTIVE
    )
    fingerprints = set(await session.scalars(active))
    if fingerprint in fingerprints:
        return [ALREADY_ADDED]
    return [TOO_MANY] if len(fingerprints) >= MAX_ACTIVE_ACCOUNTS else []


HOLDER_NAME_INVALID = Problem(
    "HOLDER_NAME_INVALID",
    f"Enter the name on the account as the bank has it (1 to {MAX_HOLDER_NAME} characters).",
    ("holderName",),
)
ROUTING_NUMBER_INVALID = Problem(
    "ROUTING_NUMBER_INVALID",
    "This is not a valid ABA routing number: it has 9 digits and its last digit must match "
    "the others. Copy it from the bottom left of a check or from your bank.",
    ("routingNumber",),
)
ACCOUNT_NUMBER_INVALID = Problem(
    "ACCOUNT_NUMBER_INVALID",
    "Enter the account number as 4 to 17 digits (spaces and hyphens are ignored).",
    ("accountNumber",),
)
ALREADY_ADDED = Problem(
    "BANK_ACCOUNT_ALREADY_ADDED",
    "This group already has this bank account; use the one stored.",
    ("accountNumber",),
)
TOO_MANY = Problem(
    "TOO_MANY_BANK_ACCOUNTS",
    f"A group keeps at most {MAX_ACTIVE_ACCOUNTS} bank accounts; remove one you no longer "
    "use first.",
)
ACCOUNT_NOT_FOUND = Problem(
    "BANK_ACCOUNT_NOT_FOUND",
    "No bank account with this ID; pass the `id` of one of the group's bank accounts.",
    ("bankAccountId",),
)
