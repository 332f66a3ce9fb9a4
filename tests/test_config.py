from __future__ import annotations

from pathlib import Path

import pytest

from servicetrade_spectrum.config import Settings


def test_defaults_put_sqlite_in_the_home(st_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ST_SPECTRUM_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.home == st_home
    assert settings.effective_database_url == f"sqlite:///{st_home / 'st-spectrum.db'}"
    assert settings.ensure_home().is_dir()


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, st_home: Path) -> None:
    monkeypatch.setenv("ST_SPECTRUM_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("ST_SPECTRUM_RETRY_ATTEMPTS", "5")
    monkeypatch.setenv("ST_SPECTRUM_RETRY_BASE_DELAY", "0.05")
    settings = Settings()
    assert settings.effective_database_url == "postgresql+psycopg://u@h/db"
    assert settings.retry_attempts == 5
    assert settings.retry_base_delay == pytest.approx(0.05)


def test_nonsense_is_refused(monkeypatch: pytest.MonkeyPatch, st_home: Path) -> None:
    monkeypatch.setenv("ST_SPECTRUM_RETRY_ATTEMPTS", "0")
    with pytest.raises(ValueError, match="retry_attempts"):
        Settings()
