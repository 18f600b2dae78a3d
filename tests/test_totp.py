"""TOTP second factor and recovery codes (SPEC §2 Web access, RFC 6238)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.auth.totp import (
    RECOVERY_CODE_ALPHABET,
    SecretBox,
    hash_recovery_code,
    new_recovery_codes,
    new_totp_secret,
    normalize_recovery_code,
    provisioning_uri,
    qr_code_svg,
    recovery_code_matches,
    verify_totp,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = dt.datetime(2026, 11, 15, 9, 30, 10, tzinfo=dt.UTC)
NOW_STEP = int(NOW.timestamp()) // 30
KEY = "a-configuration-secret-of-32-chars!!"
RECOVERY_CODE_PATTERN = re.compile(
    r"^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}(-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}){5}$"
)


def code_at(steps_from_now: int, *, secret: str = SECRET) -> str:
    """The code an authenticator app shows ``steps_from_now`` steps away (pyotp as oracle)."""
    return pyotp.TOTP(secret).at(NOW + dt.timedelta(seconds=30 * steps_from_now))


# --- secrets ------------------------------------------------------------------------


def test_new_secret_is_160_bits_of_base32() -> None:
    secret = new_totp_secret()

    assert len(base64.b32decode(secret)) * 8 == 160
    assert new_totp_secret() != secret


# --- verifying codes ----------------------------------------------------------------


def test_rfc_6238_test_vector() -> None:
    # given the RFC 6238 Appendix B SHA-1 seed; at T = 59 s the 8-digit code is 94287082
    secret = base64.b32encode(b"12345678901234567890").decode()
    at = dt.datetime(1970, 1, 1, 0, 0, 59, tzinfo=dt.UTC)

    # when / then: its last six digits are the 6-digit code for step 1
    assert verify_totp(secret, "287082", at=at, last_used_step=None) == 1


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_current_and_adjacent_steps_are_accepted(offset: int) -> None:
    step = verify_totp(SECRET, code_at(offset), at=NOW, last_used_step=None)

    assert step == NOW_STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_steps_further_away_are_refused(offset: int) -> None:
    assert verify_totp(SECRET, code_at(offset), at=NOW, last_used_step=None) is None


def test_spaces_in_the_code_are_ignored() -> None:
    code = code_at(0)

    assert verify_totp(SECRET, f" {code[:3]} {code[3:]} ", at=NOW, last_used_step=None) == NOW_STEP


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert verify_totp(SECRET, code, at=NOW, last_used_step=None) is None


def test_code_for_another_secret_is_refused() -> None:
    other = code_at(0, secret=new_totp_secret())
    if other == code_at(0):  # one chance in a million
        pytest.skip("the two secrets happen to share the current code")

    assert verify_totp(SECRET, other, at=NOW, last_used_step=None) is None


def test_replayed_code_is_refused() -> None:
    # given a code that was just accepted
    code = code_at(0)
    used_step = verify_totp(SECRET, code, at=NOW, last_used_step=None)
    assert used_step == NOW_STEP

    # when the same code is presented again, even a few seconds later
    again = verify_totp(SECRET, code, at=NOW + dt.timedelta(seconds=5), last_used_step=used_step)

    # then
    assert again is None


def test_code_older_than_the_last_used_step_is_refused() -> None:
    assert verify_totp(SECRET, code_at(-1), at=NOW, last_used_step=NOW_STEP) is None


def test_next_code_after_a_used_one_is_accepted() -> None:
    step = verify_totp(SECRET, code_at(1), at=NOW, last_used_step=NOW_STEP)

    assert step == NOW_STEP + 1


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_totp(SECRET, code_at(0), at=NOW.replace(tzinfo=None), last_used_step=None)


YEAR_2000 = 946_684_800
YEAR_2100 = 4_102_444_800


@given(st.floats(min_value=YEAR_2000, max_value=YEAR_2100))
def test_authenticator_code_is_accepted_at_any_moment(timestamp: float) -> None:
    at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    code = pyotp.TOTP(SECRET).at(at)

    assert verify_totp(SECRET, code, at=at, last_used_step=None) == int(at.timestamp()) // 30


# --- storing secrets ----------------------------------------------------------------


def test_secret_box_round_trip() -> None:
    # given
    box = SecretBox(KEY)

    # when
    token = box.encrypt(SECRET)

    # then
    assert SECRET not in token
    assert box.decrypt(token) == SECRET
    assert SecretBox(KEY).decrypt(token) == SECRET


def test_secret_box_tokens_differ_each_time() -> None:
    box = SecretBox(KEY)

    assert box.encrypt(SECRET) != box.encrypt(SECRET)


def test_secret_box_refuses_a_wrong_key() -> None:
    token = SecretBox(KEY).encrypt(SECRET)

    with pytest.raises(ValueError, match="key is wrong or the stored value is corrupted"):
        SecretBox(KEY + "x").decrypt(token)


def test_secret_box_refuses_a_corrupted_value() -> None:
    box = SecretBox(KEY)
    token = box.encrypt(SECRET)
    corrupted = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    with pytest.raises(ValueError, match="corrupted"):
        box.decrypt(corrupted)
    with pytest.raises(ValueError, match="corrupted"):
        box.decrypt("not a token")


def test_secret_box_needs_a_long_key() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        SecretBox("x" * 31)


# --- enrolment ----------------------------------------------------------------------


def test_provisioning_uri_names_the_account_and_issuer() -> None:
    uri = provisioning_uri(SECRET, email="leader@acme.example")

    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    assert unquote(parts.path) == "/Group Portal:leader@acme.example"
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Group Portal"]


def test_provisioning_uri_with_another_issuer() -> None:
    uri = provisioning_uri(SECRET, email="rep@carrier.example", issuer="Carrier Staff")

    assert parse_qs(urlsplit(uri).query)["issuer"] == ["Carrier Staff"]


def test_qr_code_is_an_inline_svg_element() -> None:
    svg = qr_code_svg(provisioning_uri(SECRET, email="leader@acme.example"))

    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert "<path" in svg
    assert svg.rstrip().endswith("</svg>")


# --- recovery codes -----------------------------------------------------------------


def test_recovery_codes_are_unique_and_well_formed() -> None:
    codes = new_recovery_codes()

    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(RECOVERY_CODE_PATTERN.match(code) for code in codes)


def test_recovery_code_count_is_configurable() -> None:
    assert len(new_recovery_codes(count=3)) == 3


def test_recovery_code_alphabet_has_no_look_alikes() -> None:
    assert not set("01OILU") & set(RECOVERY_CODE_ALPHABET)
    assert len(RECOVERY_CODE_ALPHABET) == len(set(RECOVERY_CODE_ALPHABET)) == 30


def test_recovery_codes_carry_at_least_112_bits() -> None:
    # SP 800-63B-4 §3.1.2.2: the threshold for storing them under a fast one-way function
    import math

    symbols = len(normalize_recovery_code(new_recovery_codes(count=1)[0]))

    assert symbols * math.log2(len(RECOVERY_CODE_ALPHABET)) >= 112


def test_recovery_code_hash_verifies_as_typed_loosely() -> None:
    # given
    [code] = new_recovery_codes(count=1)
    code_hash = hash_recovery_code(code, key=KEY)

    # when the user types it in lower case, with spaces instead of dashes
    typed = f"  {code.lower().replace('-', ' ')} "

    # then the same 64-hex-digit hash comes out, so it can be looked up directly
    assert re.fullmatch(r"[0-9a-f]{64}", code_hash)
    assert code not in code_hash
    assert hash_recovery_code(typed, key=KEY) == code_hash
    assert recovery_code_matches(code, code_hash, key=KEY)
    assert recovery_code_matches(typed, code_hash, key=KEY)


def test_other_recovery_code_does_not_match() -> None:
    first, second = new_recovery_codes(count=2)

    assert not recovery_code_matches(second, hash_recovery_code(first, key=KEY), key=KEY)


def test_recovery_code_hash_depends_on_the_key() -> None:
    [code] = new_recovery_codes(count=1)

    assert hash_recovery_code(code, key=KEY) != hash_recovery_code(code, key=KEY + "x")
    assert not recovery_code_matches(code, hash_recovery_code(code, key=KEY), key=KEY + "x")


@given(st.text(alphabet=RECOVERY_CODE_ALPHABET, min_size=24, max_size=24), st.data())
def test_normalization_ignores_case_spaces_and_dashes(symbols: str, data: st.DataObject) -> None:
    separators = st.sampled_from(["", "-", " ", " - "])
    typed = "".join(
        data.draw(separators) + (ch.lower() if data.draw(st.booleans()) else ch) for ch in symbols
    )

    assert normalize_recovery_code(typed) == symbols
