"""Configuration, read from the environment (``ST_SPECTRUM_*``) with pydantic-settings.

Every setting has a default that works on a laptop: data lives in a per-user data directory
and the database is SQLite inside it. Production sets ``ST_SPECTRUM_DATABASE_URL`` to
PostgreSQL.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "load_settings"]


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("st-spectrum", appauthor=False))


class Settings(BaseSettings):
    """All of st-spectrum's settings. Names map to ``ST_SPECTRUM_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix="ST_SPECTRUM_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    """Data directory: the SQLite database, the secret key file, logs."""

    database_url: str | None = None
    """SQLAlchemy URL. Unset: SQLite at ``{home}/st-spectrum.db``."""

    secret_keys: SecretStr | None = None
    """Comma-separated Fernet keys, newest first. Unset: a key generated in ``home``."""

    retry_attempts: int = Field(default=3, ge=1, le=20)
    """Total tries of a transient failure (3 = the first try and two retries)."""

    retry_base_delay: float = Field(default=1.0, ge=0)
    """Seconds before the first retry; doubles each retry (with jitter)."""

    retry_max_delay: float = Field(default=30.0, ge=0)
    """Upper bound of one retry delay, in seconds."""

    spectrum_concurrency: int = Field(default=3, ge=1, le=50)
    """Calls in flight to one Spectrum server at once, across all processes (slots shared
    through the database; the send queue lets 4 sends per slot be under way)."""

    spectrum_timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for one Spectrum answer."""

    servicetrade_timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for one ServiceTrade answer."""

    queue_polling_interval: float = Field(default=0.05, gt=0, le=5)
    """Seconds between looks at the send queue while sends are queued, and on SQLite off
    Linux between looks for the sign that another process queued one (it then starts within
    about this; on PostgreSQL and on Linux the sign wakes the queue at once). Each look at
    the queue costs CPU that bulk sends need (docs/decisions.md)."""

    queue_idle_polling_interval: float = Field(default=1.0, gt=0, le=60)
    """Seconds between looks at the send queue while it is empty. Every send queued says so
    to the processes that run the queue, so this is only the fallback for a signal lost and
    for the sends of a dead process put back in the queue."""

    dbos_schema: str = Field(default="dbos", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """PostgreSQL schema of the durable-queue tables (SQLite keeps them in the same file)."""

    executor_timeout: float = Field(default=5.0, gt=0)
    """Seconds without a heartbeat after which a process's unfinished sends are taken over."""

    sweep_minutes: float = Field(default=10.0, gt=0)
    """Minutes between polling sweeps that catch job changes a lost webhook missed."""

    log_level: str | None = None
    """Unset: WARNING for commands, INFO for the server and workers."""
    log_format: str = Field(default="console", pattern="^(console|json)$")
    secure_cookies: bool = False
    """Mark the web app's cookies Secure even when a request reached it over plain HTTP.
    Requests that arrive over HTTPS (directly, or via a proxy's X-Forwarded-Proto from an
    address in FORWARDED_ALLOW_IPS) always get Secure cookies; set this behind a TLS proxy
    that does not say so."""

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_queue_idle_polling_interval(self) -> float:
        """An empty queue is never looked at more often than a busy one."""
        return max(self.queue_polling_interval, self.queue_idle_polling_interval)

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'st-spectrum.db'}"

    def ensure_home(self) -> Path:
        """Create the data directory (private to the user) when it is missing."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.home


def load_settings() -> Settings:
    return Settings()
