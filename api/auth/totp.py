"""Second factor for portal sign-in: TOTP authenticator apps and one-time recovery codes.

SPEC §2 Web access: TOTP MFA, required for internal roles and optional for group users.

- Codes are RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps) over a 160-bit secret,
  the size RFC 4226 §4 recommends. One step either side of the current one is accepted for
  clock drift (RFC 6238 §5.2), and a step at or before the last one used is refused, so a
  code cannot be replayed (RFC 6238 §5.2, SP 800-63B-4 §3.1.4.1 "accepted only once").
- Secrets are stored encrypted (Fernet) under a key derived from a configuration secret
  with HKDF-SHA256 (RFC 5869).
- Enrolment shows an ``otpauth://`` URI as an inline SVG QR code.
- Recovery codes (for a lost device, SP 800-63B-4 §3.1.2 look-up secrets) carry 117 bits
  from ``secrets`` in an alphabet without look-alike characters. At 112 bits or more a
  look-up secret may be stored under an approved one-way function instead of a password
  hash, so they are stored as keyed HMAC-SHA256 hashes: see ``hash_recovery_code``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

import pyotp
import qrcode
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from qrcode.image.svg import SvgPathImage

TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1
SECRET_BITS = 160
MIN_KEY_LENGTH = 32
KEY_INFO = b"portal totp secret"
RECOVERY_CODE_HASH_CONTEXT = b"portal recovery code\x00"

RECOVERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32 without 0, 1 (read as O, I, L) or U: 30 symbols, about 4.9 bits each."""
RECOVERY_CODE_GROUPS = 6
RECOVERY_CODE_GROUP_LENGTH = 4
"""24 symbols = 117 bits, above the 112 bits SP 800-63B-4 §3.1.2.2 asks of a look-up secret
stored under a fast one-way function; 16 symbols (78 bits) would need a password hash."""


def new_totp_secret() -> str:
    """A fresh random TOTP secret: 160 bits as 32 base32 characters."""
    return pyotp.random_base32(length=SECRET_BITS // 5)


class SecretBox:
    """Encrypts TOTP secrets for storage under a key derived from a configuration secret."""

    def __init__(self, key: str) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"the TOTP encryption key must be at least {MIN_KEY_LENGTH} characters"
            )
        hkdf = HKDF(algorithm=SHA256(), length=32, salt=None, info=KEY_INFO)
        self._fernet = Fernet(base64.urlsafe_b64encode(hkdf.derive(key.encode())))

    def encrypt(self, plain: str) -> str:
        """An authenticated, encrypted token for ``plain``, safe to store as text."""
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain text back; ``ValueError`` when the key is wrong or the value corrupted."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "cannot decrypt the TOTP secret: the key is wrong or the stored value is corrupted"
            ) from None


def verify_totp(
    secret: str, code: str, *, at: dt.datetime, last_used_step: int | None
) -> int | None:
    """The time step a 6-digit code belongs to, or ``None`` when it is not accepted.

    Accepts the step of ``at`` and one step either side (clock drift); refuses a step at or
    before ``last_used_step`` (replay). Store the returned step as the new last used step.
    ``at`` must be timezone-aware. Spaces in the code ("123 456") are ignored.
    """
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    for step in _candidate_steps(at):
        fresh = last_used_step is None or step > last_used_step
        if fresh and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _candidate_steps(at: dt.datetime) -> range:
    if at.tzinfo is None:
        raise ValueError("verify_totp needs a timezone-aware datetime")
    current = int(at.timestamp()) // TOTP_STEP_SECONDS
    return range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1)


def provisioning_uri(secret: str, *, email: str, issuer: str = "Group Portal") -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads to enrol the secret."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_code_svg(uri: str) -> str:
    """The URI as a QR code: an ``<svg>`` element (no XML declaration) to embed in HTML."""
    image = qrcode.make(uri, image_factory=SvgPathImage)
    svg: str = image.to_string(encoding="unicode")
    return svg


def new_recovery_codes(count: int = 10) -> list[str]:
    """``count`` distinct one-time recovery codes such as ``7KQ2-M9XD-4HTR-W8PB-3FZN-6YCE``."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(_new_recovery_code())
    return sorted(codes)


def _new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_GROUP_LENGTH))
        for _ in range(RECOVERY_CODE_GROUPS)
    )
    return "-".join(groups)


def normalize_recovery_code(code: str) -> str:
    """The code as hashed: upper case, without spaces or dashes (" 7kq2-m9xd " → "7KQ2M9XD")."""
    return "".join(code.split()).replace("-", "").upper()


def hash_recovery_code(code: str, *, key: str) -> str:
    """HMAC-SHA256 (RFC 2104) of the normalized code under ``key``, as 64 hex digits.

    A fast keyed hash rather than argon2. SP 800-63B-4 §3.1.2.2 lets a look-up secret of at
    least 112 bits be stored under an approved one-way function (shorter ones need a salted
    password hash); a code here carries 117 random bits, beyond any search. HMAC rather than
    plain SHA-256 adds a secret the database does not hold (the service's ``secret_key``,
    the "pepper" of SP 800-63B-4 §3.1.1.2), so a leaked table alone cannot even be tested.
    Being deterministic, the hash is looked up directly instead of verifying ten argon2
    hashes (2.5 s) per attempt. Rotating the key invalidates stored recovery codes, as it
    does the encrypted TOTP secrets.
    """
    message = RECOVERY_CODE_HASH_CONTEXT + normalize_recovery_code(code).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def recovery_code_matches(code: str, code_hash: str, *, key: str) -> bool:
    """Whether a typed code matches a stored hash (constant-time comparison)."""
    return hmac.compare_digest(hash_recovery_code(code, key=key), code_hash)
