"""Bank routing and account numbers at rest (SPEC §2 Billing: "account and routing numbers
never stored or returned in plain text, last 4 only").

- Each number is sealed with AES-256-GCM (NIST SP 800-38D) under a fresh random 96-bit
  nonce. The associated data names the group and the column, so a sealed number copied
  onto another group's row, or from the routing into the account column, fails to open.
- A stored value is ``version (1 byte) || nonce (12) || ciphertext || tag (16)``; the
  version byte leaves room to rotate the key later.
- ``fingerprint`` is HMAC-SHA256 over routing and account number, so the database can
  refuse the same account twice in a group without a readable copy of it.
- Both keys are derived with HKDF-SHA256 (RFC 5869) from ``PORTAL_BANK_DATA_KEY``, with a
  distinct ``info`` each, so neither key can stand in for the other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_LENGTH = 32
FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
SEAL_INFO = b"portal bank numbers aes-256-gcm v1"
MATCH_INFO = b"portal bank numbers fingerprint v1"


class BankDataError(ValueError):
    """A stored number cannot be opened: the key is not the one it was sealed with, or the
    value was altered. A configuration or integrity failure, never the caller's fault."""


@dataclass(frozen=True, slots=True)
class BankNumbers:
    """A decrypted routing and account number: for building an ACH debit, never returned,
    logged or stored (``repr`` hides them)."""

    routing_number: str = field(repr=False)
    account_number: str = field(repr=False)


class BankDataCipher:
    """Seals and opens one group's bank numbers; build with ``cipher_for(secret)``."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the bank data key must be at least {MIN_SECRET_LENGTH} characters")
        self._aead = AESGCM(_derive(secret, SEAL_INFO))
        self._match_key = _derive(secret, MATCH_INFO)

    def seal(self, number: str, *, group_id: int, column: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, number.encode("ascii"), _context(group_id, column))
        return FORMAT_V1 + nonce + sealed

    def open(self, stored: bytes, *, group_id: int, column: str) -> str:
        version, nonce, sealed = stored[:1], stored[1 : 1 + NONCE_BYTES], stored[1 + NONCE_BYTES :]
        if version != FORMAT_V1:
            raise BankDataError("unknown format of a stored bank number")
        try:
            plain = self._aead.decrypt(nonce, sealed, _context(group_id, column))
        except InvalidTag:
            raise BankDataError(
                "cannot open a stored bank number: the key is wrong or the value was altered"
            ) from None
        return plain.decode("ascii")

    def fingerprint(self, routing_number: str, account_number: str) -> str:
        message = f"{routing_number}:{account_number}".encode("ascii")
        return hmac.new(self._match_key, message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def cipher_for(secret: str) -> BankDataCipher:
    """The cipher of a configured secret (derived once per process)."""
    return BankDataCipher(secret)


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def _context(group_id: int, column: str) -> bytes:
    return f"bank_accounts.{column}:group={group_id}".encode("ascii")
