"""Fixtures shared by the whole suite.

The suite runs once per database: ``ST_SPECTRUM_DATABASE_URL`` names it (the test script sets
PostgreSQL for the second run); unset, each session gets a fresh SQLite file. On PostgreSQL
each session works in a schema of its own, dropped at the end, so runs never see each other's
rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("ST_SPECTRUM_DATABASE_URL")
    if not configured:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'st-spectrum.db'}"
        return
    url = make_url(configured)
    if url.get_backend_name() != "postgresql":
        yield configured
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(configured, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def st_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ST_SPECTRUM_HOME for tests that read settings from the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("ST_SPECTRUM_HOME", str(home))
    return home
