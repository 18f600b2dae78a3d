"""Service configuration, read from the environment (prefix ``PORTAL_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that make development work out of the box. Production refuses them.
DEV_SSN_HASH_KEY = "development-only-ssn-hash-key-change-me"
DEV_SECRET_KEY = "development-only-secret-key-change-me-0123456789"
DEV_BANK_DATA_KEY = "development-only-bank-data-key-change-me-0123456789"


class Settings(BaseSettings):
    """Every knob of the service. See the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_file=None, extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./portal.db"
    ssn_hash_key: SecretStr = SecretStr(DEV_SSN_HASH_KEY)
    db_pool_size: int = Field(default=10, ge=1)
    db_echo: bool = False
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_file_bytes: int = Field(default=50_000_000, ge=1024)
    file_job_lease_seconds: int = Field(default=300, ge=1)
    full_file_safety_percent: int = Field(default=10, ge=1, le=100)
    billing_job_lease_seconds: int = Field(default=300, ge=1)
    delinquency_job_lease_seconds: int = Field(default=300, ge=1)
    max_query_depth: int = Field(default=10, ge=2)
    max_aliases: int = Field(default=15, ge=1)
    max_tokens: int = Field(default=2_000, ge=100)
    max_directives: int = Field(default=20, ge=1)
    mask_errors: bool | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    # Encrypts bank routing and account numbers at rest (api.services.bank_accounts).
    bank_data_key: SecretStr = SecretStr(DEV_BANK_DATA_KEY)
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "group-portal-api"
    jwt_private_key: SecretStr | None = None
    dev_key_file: str = ".portal-dev-signing-key.json"
    access_token_seconds: int = Field(default=600, ge=60, le=3600)
    refresh_token_seconds: int = Field(default=12 * 3600, ge=300)
    token_family_seconds: int = Field(default=12 * 3600, ge=300)
    authorization_code_seconds: int = Field(default=60, ge=10, le=600)
    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    session_absolute_seconds: int = Field(default=12 * 3600, ge=300)
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_window_seconds: int = Field(default=15 * 60, ge=60)
    lockout_seconds: int = Field(default=15 * 60, ge=60)
    invitation_days: int = Field(default=7, ge=1, le=30)
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # SPEC §2 Web access: access issues' first-response due time and the report limits
    # (per client IP and per reporter email, each in a fixed window).
    access_first_response_business_days: int = Field(default=1, ge=1, le=10)
    access_report_ip_limit: int = Field(default=5, ge=1)
    access_report_ip_window_seconds: int = Field(default=15 * 60, ge=60)
    access_report_email_limit: int = Field(default=3, ge=1)
    access_report_email_window_seconds: int = Field(default=3600, ge=60)
    # Self-service reset requests (the sign-in page): per client IP and per email address.
    password_reset_ip_limit: int = Field(default=5, ge=1)
    password_reset_ip_window_seconds: int = Field(default=15 * 60, ge=60)
    password_reset_email_limit: int = Field(default=3, ge=1)
    password_reset_email_window_seconds: int = Field(default=3600, ge=60)
    mail_mode: Literal["outbox", "smtp"] = "outbox"
    mail_from: str = "Group Portal <portal@carrier.example>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_max_attempts: int = Field(default=6, ge=1)
    edi_operations_email: str = "edi-operations@carrier.example"
    log_level: str = "INFO"
    # SPEC §2 Members and coverage: the carrier's eligibility defaults.
    retro_add_days: int = Field(default=30, ge=0)
    retro_terminate_days: int = Field(default=60, ge=0)
    future_days: int = Field(default=90, ge=0)
    qle_window_days: int = Field(default=30, ge=0)
    dependent_age_limit: int = Field(default=26, ge=1)
    id_card_business_days: int = Field(default=10, ge=1, le=60)
    # SPEC §2 Billing: a self-billed remittance is an exception for a rep when its variance
    # exceeds the larger of this floor (cents) and this share of the expected premium.
    remittance_threshold_cents: int = Field(default=2500, ge=0)
    remittance_threshold_percent: int = Field(default=2, ge=0, le=100)
    carrier_name: str = "Carrier Health Plan"
    remittance_address: str = "Premium Processing|PO Box 100200|Columbus, OH 43218-0200"
    """Where groups send checks, as printed on the invoice's stub (lines split by ``|``)."""
    carrier_contact_line: str = "Member Services: 1-800-555-0100 (TTY 711), Mon-Fri 8am-8pm"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def masks_errors(self) -> bool:
        """Unexpected errors are masked in production unless said otherwise."""
        return self.is_production if self.mask_errors is None else self.mask_errors

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Settings:
        if not self.is_production:
            return self
        for name, value, default in (
            ("PORTAL_SSN_HASH_KEY", self.ssn_hash_key, DEV_SSN_HASH_KEY),
            ("PORTAL_SECRET_KEY", self.secret_key, DEV_SECRET_KEY),
        ):
            if value.get_secret_value() == default:
                raise ValueError(
                    f"{name} still has its development default; "
                    "set a random secret of at least 32 characters in production"
                )
            if len(value.get_secret_value()) < 32:
                raise ValueError(f"{name} must be at least 32 characters in production")
        if self.jwt_private_key is None:
            raise ValueError("PORTAL_JWT_PRIVATE_KEY (a PEM RSA key) is required in production")
        if self.mail_mode != "smtp":
            # The outbox only records mail: invitations and notices would never arrive.
            raise ValueError("PORTAL_MAIL_MODE must be smtp in production (outbox sends nothing)")
        _refuse_weak_secret("PORTAL_BANK_DATA_KEY", self.bank_data_key, DEV_BANK_DATA_KEY)
        return self


def _refuse_weak_secret(name: str, value: SecretStr, development_default: str) -> None:
    """A production secret is not its development default and has 32 characters or more."""
    if value.get_secret_value() == development_default:
        raise ValueError(
            f"{name} still has its development default; "
            "set a random secret of at least 32 characters in production"
        )
    if len(value.get_secret_value()) < 32:
        raise ValueError(f"{name} must be at least 32 characters in production")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
