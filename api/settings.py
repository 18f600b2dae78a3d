"""Service configuration, read from the environment (prefix ``PORTAL_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that make development work out of the box. Production refuses them.
DEV_SSN_HASH_KEY = "development-only-ssn-hash-key-change-me"


class Settings(BaseSettings):
    """Every knob of the service. See the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_file=None, extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./portal.db"
    ssn_hash_key: SecretStr = SecretStr(DEV_SSN_HASH_KEY)
    db_pool_size: int = Field(default=10, ge=1)
    db_echo: bool = False
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_query_depth: int = Field(default=10, ge=2)
    max_aliases: int = Field(default=15, ge=1)
    max_tokens: int = Field(default=2_000, ge=100)
    max_directives: int = Field(default=20, ge=1)
    mask_errors: bool | None = None
    log_level: str = "INFO"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def masks_errors(self) -> bool:
        """Unexpected errors are masked in production unless said otherwise."""
        return self.is_production if self.mask_errors is None else self.mask_errors

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Settings:
        if self.is_production and self.ssn_hash_key.get_secret_value() == DEV_SSN_HASH_KEY:
            raise ValueError(
                "PORTAL_SSN_HASH_KEY still has its development default; "
                "set a random secret of at least 32 characters in production"
            )
        if self.is_production and len(self.ssn_hash_key.get_secret_value()) < 32:
            raise ValueError("PORTAL_SSN_HASH_KEY must be at least 32 characters in production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
