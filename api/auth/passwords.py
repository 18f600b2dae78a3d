"""Portal passwords: hashing, verification and the rules a new password must meet.

SPEC §2 Web access: passwords follow NIST SP 800-63B-4 and are hashed with argon2.

- Length is the only size rule: at least 15 and at most 128 characters, counted as Unicode
  code points after NFKC normalization (SP 800-63B-4 §3.1.1.2, which also asks verifiers
  to normalize before hashing, so the same phrase typed on two keyboards still matches).
- No composition rules ("needs a digit or a symbol"): SP 800-63B-4 §3.1.1.2 forbids them.
- A password on the common/breached list that ships with the service is refused: the
  30,000 most common passwords bundled with zxcvbn, checked case-insensitively, also with
  trailing digits and punctuation removed ("Monkey123!" is "monkey").
- A password containing the user's email address, its local part or a part of their name
  is refused (context-specific words, SP 800-63B-4 §3.1.1.2).
- Hashes are argon2id (RFC 9106) through passlib's ``CryptContext``; a stored hash made
  with older parameters is replaced on the next successful sign-in.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache

from passlib.context import CryptContext

MIN_LENGTH = 15
MAX_LENGTH = 128
MIN_PERSONAL_WORD_LENGTH = 3

PASSWORD_CONTEXT = CryptContext(schemes=["argon2"], argon2__type="ID")
"""argon2id with passlib's defaults (64 MiB, 3 passes, 4 lanes); built once per process."""

_TRAILING_DIGITS_AND_PUNCTUATION = re.compile(r"[\d\W_]+$")
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of a sign-in check; ``new_hash`` is set when the stored hash is outdated."""

    ok: bool
    new_hash: str | None


@dataclass(frozen=True, slots=True)
class PasswordProblem:
    """One reason a new password is refused: a machine code and what the user should do."""

    code: str
    message: str


TOO_SHORT = PasswordProblem(
    "TOO_SHORT",
    f"Use at least {MIN_LENGTH} characters; a short phrase of several words works well.",
)
TOO_LONG = PasswordProblem(
    "TOO_LONG", f"Use at most {MAX_LENGTH} characters; a shorter phrase is just as safe."
)
COMMON_PASSWORD = PasswordProblem(
    "COMMON_PASSWORD",
    "This password is on a list of common or breached passwords; choose a phrase of your own.",
)
CONTAINS_PERSONAL_INFO = PasswordProblem(
    "CONTAINS_PERSONAL_INFO",
    "Leave your name and email address out of your password; choose words unrelated to you.",
)


def normalize_password(password: str) -> str:
    """NFKC form of the password, as hashed and measured (SP 800-63B-4 §3.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An argon2id hash of the normalized password, ready to store."""
    password_hash: str = PASSWORD_CONTEXT.hash(normalize_password(password))
    return password_hash


def verify_password(
    password: str, password_hash: str, *, context: CryptContext = PASSWORD_CONTEXT
) -> PasswordCheck:
    """Check a sign-in password against the stored hash (rehash-on-login).

    ``new_hash`` is a fresh hash to store when the password is right but the stored hash
    was made with other parameters than ``context`` uses today. A stored value that is not
    a recognizable hash raises ``ValueError``: that is corrupt data, not a wrong password.
    """
    ok, new_hash = context.verify_and_update(normalize_password(password), password_hash)
    return PasswordCheck(ok=bool(ok), new_hash=new_hash if ok else None)


def verify_against_dummy(password: str) -> None:
    """Spend one argon2 verification for a sign-in whose email matches no user.

    An unknown email then takes as long as a wrong password (the same timing class), so
    response times do not reveal which email addresses have portal accounts.
    """
    PASSWORD_CONTEXT.verify(normalize_password(password), _dummy_hash())


@cache
def _dummy_hash() -> str:
    """A hash of a random secret, made once with today's parameters so its cost matches."""
    dummy_hash: str = PASSWORD_CONTEXT.hash(secrets.token_urlsafe(32))
    return dummy_hash


def password_problems(password: str, *, email: str, name: str) -> list[PasswordProblem]:
    """Every rule a proposed password breaks, in a stable order; empty when it is fine."""
    normalized = normalize_password(password)
    problems = []
    if len(normalized) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if len(normalized) > MAX_LENGTH:
        problems.append(TOO_LONG)
    if is_common_password(normalized):
        problems.append(COMMON_PASSWORD)
    if contains_personal_info(normalized, email=email, name=name):
        problems.append(CONTAINS_PERSONAL_INFO)
    return problems


def is_common_password(password: str) -> bool:
    """Whether the password, ignoring case and trailing digits/punctuation, is listed."""
    lowered = password.casefold()
    stripped = _TRAILING_DIGITS_AND_PUNCTUATION.sub("", lowered)
    common = _common_passwords()
    return lowered in common or (stripped != "" and stripped in common)


def contains_personal_info(password: str, *, email: str, name: str) -> bool:
    """Whether the password contains the email, its local part or a name part (≥ 3 letters)."""
    lowered = password.casefold()
    return any(word in lowered for word in _personal_words(email=email, name=name))


def _personal_words(*, email: str, name: str) -> set[str]:
    email = email.strip().casefold()
    local_part = email.partition("@")[0]
    name_parts = _LETTER_RUNS.findall(normalize_password(name).casefold())
    words = {email, local_part, *name_parts}
    return {word for word in words if len(word) >= MIN_PERSONAL_WORD_LENGTH}


@cache
def _common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords, loaded on first use."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(entry.casefold() for entry in FREQUENCY_LISTS["passwords"])
