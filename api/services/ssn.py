"""Social Security numbers: never stored, only a keyed hash for matching and the last 4.

SPEC §2 Members: the SSN is write-only; the API returns ``ssnLast4`` only and the database
never holds it in plain text. A keyed HMAC (not a bare hash) stops a dictionary attack over
the 10^9 possible SSNs by anyone who reads the table without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")


class InvalidSSNError(ValueError):
    """The text is not a well-formed, issuable SSN."""


def normalize_ssn(text: str) -> str:
    """Nine digits, without dashes; rejects area 000/666/9xx, group 00 and serial 0000."""
    match = _SSN.match(text.strip())
    if not match:
        raise InvalidSSNError("An SSN has nine digits, written 123-45-6789 or 123456789.")
    area, group, serial = match.groups()
    if area in {"000", "666"} or area.startswith("9") or group == "00" or serial == "0000":
        raise InvalidSSNError("This SSN cannot have been issued; check the digits.")
    return area + group + serial


def ssn_hash(*, key: str, ssn: str) -> str:
    """Hex HMAC-SHA256 of the normalized SSN under ``key`` (PORTAL_SSN_HASH_KEY)."""
    digits = normalize_ssn(ssn)
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()


def ssn_last4(ssn: str) -> str:
    return normalize_ssn(ssn)[-4:]
