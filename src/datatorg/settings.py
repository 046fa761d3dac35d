"""Typed settings, read from the environment (prefix ``DATATORG_``) and an optional ``.env``.

Every field is documented in ``docs/settings.md``; a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "development-only-secret-key-change-me"


class Settings(BaseSettings):
    """Everything Datatorg reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="DATATORG_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development",
        description="Where this instance runs. Outside development a strong secret key is required "
        "and cookies are always marked Secure.",
    )
    database_url: str = Field(
        "sqlite:///var/datatorg.sqlite3",
        description="SQLAlchemy URL of the control-plane database: SQLite by default, "
        "`postgresql+psycopg://user:pass@host/db` in production.",
    )
    lake_path: Path = Field(
        Path("var/lake"),
        description="Folder of the data plane: immutable, versioned Parquet files.",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET),
        description="Key for signing cookies, CSRF tokens and pseudonyms. At least 32 characters "
        "outside development.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address of the site; used in e-mails and as the base of catalog IRIs.",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server for outgoing e-mail.")
    smtp_port: int = Field(25, description="Port of the SMTP server.")
    smtp_user: str | None = Field(None, description="SMTP login name, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password, if needed.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field(
        "Datatorg <noreply@datatorg.halden.kommune.no>",
        description="Sender address of e-mails from the platform.",
    )
    mail_enabled: bool = Field(
        True, description="Send e-mail at all; when off, mails are only logged (without content)."
    )
    session_hours: int = Field(12, description="Lifetime of a login session, in hours.")
    reset_token_minutes: int = Field(
        60, description="How long a password reset link stays valid, in minutes (single use)."
    )
    login_attempts_per_minute: int = Field(
        5, description="Failed logins allowed per account and per client address in one minute."
    )
    upload_max_bytes: int = Field(
        2 * 1024**3, description="Largest upload accepted, in bytes (default 2 GiB)."
    )
    pending_upload_days: int = Field(
        14,
        description="Days a validated upload may wait for the publisher before "
        "`datatorg lake gc` discards it and frees its staged file.",
    )
    query_row_cap: int = Field(10_000, description="Most rows one API page may return.")
    query_time_budget_ms: int = Field(
        10_000, description="Time budget of one query against the lake, in milliseconds."
    )
    row_index_max_rows: int = Field(
        20_000_000,
        description=(
            "Largest version (in rows) that gets a row index, a SQLite serving copy for "
            "filtered, sorted row pages; 0 turns row indexes off."
        ),
    )
    pilot_report_max_bytes: int = Field(
        10 * 1024**2,
        description="Largest report a pilot may attach, in bytes (default 10 MiB).",
    )
    write_wait_ms: int = Field(
        10_000,
        ge=0,
        description="Longest time a write waits for its turn at the database (SQLite has one "
        "writer at a time) before the request is answered 503 with Retry-After.",
    )
    log_level: str = Field("INFO", description="Level of the structured log.")
    log_json: bool = Field(True, description="Write logs as JSON lines (off: plain text).")
    default_locale: Literal["nb", "en"] = Field(
        "nb", description="Language used when the browser states no preference."
    )

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.env != "development" and (secret == DEV_SECRET or len(secret) < 32):
            raise ValueError(
                "DATATORG_SECRET_KEY must be set to at least 32 random characters "
                f"when DATATORG_ENV is {self.env!r}"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry the Secure flag: always, except in development over plain http."""
        return not (self.env == "development" and self.base_url.startswith("http://"))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own and inject them."""
    return Settings()
