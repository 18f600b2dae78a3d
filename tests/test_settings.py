"""Configuration: production refuses development secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings


def test_development_defaults_work() -> None:
    settings = Settings(_env_file=None)
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_production_refuses_the_development_ssn_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(ValidationError, match="PORTAL_SSN_HASH_KEY still has its development"):
        Settings()


def test_production_refuses_a_short_ssn_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SSN_HASH_KEY", "short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings()


def test_production_starts_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SSN_HASH_KEY", "k" * 40)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PORTAL_BANK_DATA_KEY", "b" * 40)
    monkeypatch.setenv("PORTAL_JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----...")
    monkeypatch.setenv("PORTAL_MAIL_MODE", "smtp")
    settings = Settings()
    assert settings.is_production
    assert settings.masks_errors


def test_production_needs_its_own_secret_key_and_signing_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SSN_HASH_KEY", "k" * 40)
    with pytest.raises(ValidationError, match="PORTAL_SECRET_KEY still has its development"):
        Settings()
    monkeypatch.setenv("PORTAL_SECRET_KEY", "s" * 40)
    with pytest.raises(ValidationError, match="PORTAL_JWT_PRIVATE_KEY"):
        Settings()


def test_production_refuses_the_development_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SSN_HASH_KEY", "k" * 40)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PORTAL_JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----...")
    with pytest.raises(ValidationError, match="PORTAL_MAIL_MODE must be smtp"):
        Settings()
