"""Password rules and hashing (SPEC §2 Web access, NIST SP 800-63B-4 §3.1.1.2)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from passlib.context import CryptContext

from api.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    PASSWORD_CONTEXT,
    PasswordCheck,
    hash_password,
    password_problems,
    verify_against_dummy,
    verify_password,
)

EMAIL = "jordan.rivera@acme-dental.example"
NAME = "Jordan Q. Rivera"
GOOD_PASSWORD = "copper kettle under seven hills"

CHEAP_CONTEXT = CryptContext(
    schemes=["argon2"], argon2__type="ID", argon2__rounds=1, argon2__memory_cost=8192
)


def codes(password: str, *, email: str = EMAIL, name: str = NAME) -> list[str]:
    return [problem.code for problem in password_problems(password, email=email, name=name)]


# --- hashing and verification ---------------------------------------------------------


def test_hash_is_argon2id_and_verifies() -> None:
    # given
    password_hash = hash_password(GOOD_PASSWORD)

    # when
    check = verify_password(GOOD_PASSWORD, password_hash)

    # then
    assert password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in password_hash
    assert check == PasswordCheck(ok=True, new_hash=None)


def test_wrong_password_is_refused() -> None:
    password_hash = hash_password(GOOD_PASSWORD)

    check = verify_password(GOOD_PASSWORD + "!", password_hash)

    assert check == PasswordCheck(ok=False, new_hash=None)


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password(GOOD_PASSWORD) != hash_password(GOOD_PASSWORD)


def test_hash_made_with_old_parameters_is_upgraded_on_login() -> None:
    # given a hash made when the service used cheaper argon2 parameters
    old_hash = CHEAP_CONTEXT.hash(GOOD_PASSWORD)

    # when the user signs in under today's parameters
    check = verify_password(GOOD_PASSWORD, old_hash)

    # then a fresh hash with today's parameters is handed back to store
    assert check.ok
    assert check.new_hash is not None
    assert check.new_hash != old_hash
    assert not PASSWORD_CONTEXT.needs_update(check.new_hash)
    assert verify_password(GOOD_PASSWORD, check.new_hash) == PasswordCheck(ok=True, new_hash=None)


def test_parameter_change_in_either_direction_triggers_rehash() -> None:
    # given a hash made with today's parameters
    current_hash = hash_password(GOOD_PASSWORD)

    # when the configured context changes
    check = verify_password(GOOD_PASSWORD, current_hash, context=CHEAP_CONTEXT)

    # then
    assert check.ok
    assert check.new_hash is not None
    assert "m=8192,t=1" in check.new_hash


def test_wrong_password_never_gets_a_new_hash() -> None:
    old_hash = CHEAP_CONTEXT.hash(GOOD_PASSWORD)

    check = verify_password("not the password at all", old_hash)

    assert check == PasswordCheck(ok=False, new_hash=None)


def test_password_is_normalized_before_hashing() -> None:
    # given a password with an accent typed as one precomposed code point
    composed = unicodedata.normalize("NFC", "café au lait on sundays")
    decomposed = unicodedata.normalize("NFD", composed)
    password_hash = hash_password(composed)

    # when the same phrase arrives decomposed (e + combining accent)
    check = verify_password(decomposed, password_hash)

    # then it still matches
    assert composed != decomposed
    assert check.ok


def test_stored_value_that_is_not_a_hash_raises() -> None:
    with pytest.raises(ValueError, match="could not be identified"):
        verify_password(GOOD_PASSWORD, "not-a-hash")


@pytest.mark.parametrize("password", [GOOD_PASSWORD, "", "é" * 200])
def test_verify_against_dummy_accepts_any_password_without_raising(password: str) -> None:
    verify_against_dummy(password)


# --- length -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (MIN_LENGTH - 1, ["TOO_SHORT"]),
        (MIN_LENGTH, []),
        (MAX_LENGTH, []),
        (MAX_LENGTH + 1, ["TOO_LONG"]),
    ],
)
def test_length_boundaries(length: int, expected: list[str]) -> None:
    password = ("purple mountain majesty " * 10)[:length]

    assert len(password) == length
    assert codes(password) == expected


@pytest.mark.parametrize("symbol", ["é", "😀", "ß", "漢"])
def test_each_code_point_counts_as_one_character(symbol: str) -> None:
    # given symbols that take several bytes in UTF-8
    assert len(symbol.encode()) > 1

    # then
    assert codes(symbol * (MIN_LENGTH - 1)) == ["TOO_SHORT"]
    assert codes(symbol * MIN_LENGTH) == []
    assert codes(symbol * MAX_LENGTH) == []
    assert codes(symbol * (MAX_LENGTH + 1)) == ["TOO_LONG"]


def test_decomposed_accents_count_once() -> None:
    # given 15 accented letters typed as letter + combining accent (30 code points)
    password = unicodedata.normalize("NFD", "é" * MIN_LENGTH)
    assert len(password) == 2 * MIN_LENGTH

    # then it counts as 15 characters, like the precomposed form
    assert codes(password) == []
    assert codes(password[:-2]) == ["TOO_SHORT"]


def test_too_short_message_says_what_to_do() -> None:
    [problem] = password_problems("short", email=EMAIL, name=NAME)

    assert problem.code == "TOO_SHORT"
    assert problem.message == (
        "Use at least 15 characters; a short phrase of several words works well."
    )


@given(st.text(max_size=200))
def test_length_rules_depend_only_on_length(password: str) -> None:
    length = len(unicodedata.normalize("NFKC", password))
    found = codes(password)

    assert ("TOO_SHORT" in found) == (length < MIN_LENGTH)
    assert ("TOO_LONG" in found) == (length > MAX_LENGTH)


# --- no composition rules -------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # lower-case letters and spaces only
        "tangerinewallpaperbicycle",  # no digits, symbols or capitals
        "8302 5571 9946 2210",  # digits and spaces only
    ],
)
def test_no_composition_rules(password: str) -> None:
    assert codes(password) == []


# --- common and breached passwords ----------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "1qaz2wsx3edc4rfv",  # on the list as is
        "1QAZ2WSX3EDC4RFV",  # case variant
        "QwertyUiop12345",  # mixed case variant of "qwertyuiop12345"
        "passwordstandard",
        "monkey123456789!",  # listed word + trailing digits and punctuation
        "Football2024!!!!",
    ],
)
def test_common_password_is_refused(password: str) -> None:
    assert "COMMON_PASSWORD" in codes(password)


def test_common_password_message_says_what_to_do() -> None:
    problems = password_problems("1qaz2wsx3edc4rfv", email=EMAIL, name=NAME)

    assert [problem.code for problem in problems] == ["COMMON_PASSWORD"]
    assert "choose a phrase" in problems[0].message


def test_listed_word_inside_a_longer_phrase_is_fine() -> None:
    assert codes("my monkey plays the trombone") == []


def test_digits_only_password_is_not_stripped_to_nothing() -> None:
    assert codes("840275196384027") == []


# --- personal information -------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "jordan.rivera loves teeth",  # email local part
        "JORDAN.RIVERA@ACME-DENTAL.EXAMPLE",  # whole email, other case
        "sunny days with jordan",  # first name
        "riverasunnydays",  # last name, no spaces
        "ThE RiVeRa family dentist",  # last name, mixed case
    ],
)
def test_personal_information_is_refused(password: str) -> None:
    assert codes(password) == ["CONTAINS_PERSONAL_INFO"]


def test_name_parts_shorter_than_three_letters_are_allowed() -> None:
    # given a name whose "Q" and "Al" parts are too short to matter
    name = "Al Q. Ng-Wu"

    # then
    assert codes("quietly planning alpine weekends", name=name) == []
    assert codes("ngwu family reunion plans", name=name) == []


def test_accented_name_is_matched_case_insensitively() -> None:
    assert "CONTAINS_PERSONAL_INFO" in codes("remember ÉLODIE at midnight", name="Élodie Brun")


def test_several_problems_are_reported_together() -> None:
    assert codes("jordan1") == ["TOO_SHORT", "COMMON_PASSWORD", "CONTAINS_PERSONAL_INFO"]
