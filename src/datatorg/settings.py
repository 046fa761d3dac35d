"""Typed settings, read from the environment (prefix ``DATATORG_``) and an optional ``.env``.

Every field is documented in ``docs/settings.md``; a test keeps the two in step.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "development-only-secret-key-change-me"
FALLBACK_BASE_URL = "http://127.0.0.1:8000"  # e-mails sent outside a request, with no base_url


MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 80  # what the key's own characters show of its randomness (see below)


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is not fit to sign cookies and pseudonyms, or None.

    A key must be at least 32 characters and look random: at least 7 different characters,
    not one short pattern repeated, and at least 80 bits by the Shannon entropy of its own
    characters (a 32-character hex key from ``secrets.token_hex(16)`` measures about 112,
    the lowest of 300,000 measured 88.7, while 1 in 1,000 fell under the 100 once required;
    32 spaces or 32 × ``a`` measure 0, and 32 characters of which 23 are one letter 56).
    """
    if secret == DEV_SECRET:
        return "is the development key"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if not secret.strip() or len(set(secret)) < 7:
        return "has too few different characters"
    for width in range(1, len(secret) // 2 + 1):
        if (secret[:width] * (len(secret) // width + 1))[: len(secret)] == secret:
            return "is a short pattern repeated"
    counts = Counter(secret)
    bits = -sum(c * math.log2(c / len(secret)) for c in counts.values())
    if bits < MIN_SECRET_BITS:
        return "does not look random enough"
    return None


def settings_error(exc: ValidationError) -> str:
    """A one-line account of invalid settings (no traceback, never a secret's value)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"DATATORG_{where.upper()}: {msg}" if where else msg)
    return "Invalid settings: " + "; ".join(parts)


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
        description="Key for signing cookies, CSRF tokens and pseudonyms. Outside development at "
        "least 32 characters that look random (at least 7 different characters, no repeated "
        "pattern, at least 80 bits of entropy); the process refuses to start otherwise.",
    )
    base_url: str = Field(
        "",
        description="Public address of the site (e.g. `https://data.halden.kommune.no`): the "
        "base of absolute links in exports, catalog IRIs, API examples and e-mails. Empty: the "
        "address each request came to (e-mails sent outside a request then use "
        "`http://127.0.0.1:8000`).",
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
    aggregate_min_group: int = Field(
        5,
        ge=2,
        description="Smallest group an aggregate of personal data may show to anyone but the "
        "owner's duty roles: groups with fewer distinct data subjects (rows, without a "
        "subject key) are left out of the answer and counted as suppressed "
        "(docs/privacy.md).",
    )
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
    duckdb_memory_mb: int = Field(
        1024,
        ge=64,
        description="Memory limit of each DuckDB database the platform opens (the gate's "
        "reader, each upload's checks, each row index build), in MiB; past it DuckDB spills "
        "to its temporary folder or stops the query with a clear error.",
    )
    request_threads: int = Field(
        100,
        ge=8,
        description="Threads one server process may run request work in (the thread pool; "
        "anyio's default is 40). A write waiting for SQLite's writer turn holds one while it "
        "waits, and the write that holds the turn needs one for its next step: with too few, "
        "the waiters take them all and every write stalls until its wait runs out (seen with "
        "50 concurrent writes on two workers). Keep it above the writes one process takes at "
        "once. At most half of them wait in line for SQLite's writer turn; a write beyond "
        "that is answered 503 with Retry-After at once, and the other half stay free for "
        "reads.",
    )
    request_concurrency: int = Field(
        4,
        ge=1,
        description="Requests one server process works on at once; the others wait their "
        "turn in arrival order (web/admission.py). A process runs its requests' Python one "
        "at a time, so admitting every request at once only makes each take longer: at 50 "
        "connections on two cores, 8 cut the p99 about in half against 100, and 4 cut the "
        "CPU per request by another tenth on PostgreSQL. Uploads (bodies over 64 KiB) do "
        "not wait; a request gives its place back when its response starts or when it has "
        "waited a tenth of a second for a lock held elsewhere or for a DuckDB query; "
        "/healthz and /readyz do not wait.",
    )
    duckdb_threads: int = Field(
        2, ge=1, description="Threads of each DuckDB database the platform opens."
    )
    duckdb_seconds_per_minute: float = Field(
        60,
        ge=0,
        description="DuckDB time one client may spend on queries of the data per minute, in "
        "seconds, in each server process: a user's (signed in or by any of their tokens), or "
        "an anonymous client address's. Each query is charged the time it held its DuckDB "
        "place; a client over it is answered 429 with Retry-After until it is under again. "
        "0 turns the limit off. The default is one DuckDB place's worth, a quarter of the "
        "default DATATORG_DUCKDB_QUERIES; the load benchmark's one token spends about 27 s "
        "a minute per worker.",
    )
    duckdb_queries: int = Field(
        4,
        ge=1,
        description="Queries of the data (rows, aggregates, downloads) one server process runs "
        "in DuckDB at once; the others wait their turn in arrival order, within their time "
        "budget. When twice as many already wait, a query is answered 503 with Retry-After at "
        "once. Each query runs on DATATORG_DUCKDB_THREADS threads: more at once only share "
        "the same cores, and a flood of slow queries would starve every page of CPU.",
    )
    duckdb_temp_directory: Path | None = Field(
        None,
        description="Where DuckDB spills what does not fit its memory limit; default "
        "`<DATATORG_LAKE_PATH>/tmp/duckdb`.",
    )
    row_index_build_seconds: int = Field(
        600,
        ge=1,
        description="Longest time one row index build may take before it gives up (recorded; "
        "tried again later with a growing pause, at most five times).",
    )
    row_index_memory_mb: int = Field(
        256,
        ge=64,
        description="Memory limit of DuckDB in a row index build, in MiB (the rows are also "
        "copied in chunks sized to the number of columns).",
    )
    outbox_worker: bool = Field(
        True,
        description="Deliver the outbox (e-mails after commit) in a background thread of each "
        "server process; off: only `datatorg outbox deliver` (e.g. from cron) sends them.",
    )
    outbox_poll_seconds: float = Field(
        5.0,
        gt=0,
        description="How often the server's deliverer looks for due outbox messages (it also "
        "wakes at once after a commit that queued one), in seconds.",
    )
    write_wait_ms: int = Field(
        10_000,
        ge=0,
        description="Longest time a write waits for its turn at the database (SQLite has one "
        "writer at a time) before the request is answered 503 with Retry-After.",
    )
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="MQTT broker the sensor ingest worker subscribes to (`datatorg sensors "
        "ingest`) and the simulator publishes to.",
    )
    mqtt_client_id: str = Field(
        "datatorg-ingest",
        description="Client id of the ingest worker's persistent MQTT session; the broker keeps "
        "unacknowledged observations for it while it is away. One id per ingest worker.",
    )
    mqtt_topic_prefix: str = Field(
        "datatorg", description="First level of sensor topics: `<prefix>/<EntityType>/<device>`."
    )
    sensor_compact_seconds: int = Field(
        10, description="How often the ingest worker compacts live datasets, in seconds."
    )
    live_fold_rows: int = Field(
        500_000,
        description="Live rows (not yet in a version) at which compaction writes them into a "
        "new version as one file; also the size files are packed to.",
    )
    live_fold_seconds: int = Field(
        3600,
        description="Oldest age, in seconds, of live rows before compaction folds them into a "
        "version however few they are.",
    )
    ngsi_notify_private_hosts: bool = Field(
        False,
        description="Let NGSI-LD subscriptions notify endpoints on private networks or this "
        "machine (off: no server-side requests into internal networks).",
    )
    log_level: str = Field("INFO", description="Level of the structured log.")
    log_json: bool = Field(True, description="Write logs as JSON lines (off: plain text).")
    default_locale: Literal["nb", "en"] = Field(
        "nb", description="Language used when the browser states no preference."
    )

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.env != "development":
            problem = secret_problem(secret)
            if problem:
                raise ValueError(
                    f"DATATORG_SECRET_KEY {problem}; when DATATORG_ENV is {self.env!r} set it to "
                    "at least 32 random characters, e.g. from "
                    "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
        return self

    @property
    def duckdb_spill_path(self) -> Path:
        """Where DuckDB spills (``duckdb_temp_directory`` or a folder in the lake)."""
        return self.duckdb_temp_directory or self.lake_path / "tmp" / "duckdb"

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry the Secure flag: always, except in development over plain http
        (or with no public address set)."""
        return not (self.env == "development" and not self.base_url.startswith("https://"))

    def public_base(self, request_base: str | None = None) -> str:
        """The site's public address: ``base_url`` when set, else the request's own address."""
        return (self.base_url or request_base or FALLBACK_BASE_URL).rstrip("/")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own and inject them.

    Invalid settings stop the process with one line saying which and why (``SystemExit``)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(settings_error(exc)) from None
