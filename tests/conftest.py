"""Fixtures shared by the whole suite.

The suite runs once per database: ``ST_SPECTRUM_DATABASE_URL`` names it (the test script sets
PostgreSQL for the second run); unset, each session gets a fresh SQLite file. On PostgreSQL
each session works in a schema of its own, dropped at the end, so runs never see each other's
rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.store._models import Base
from servicetrade_spectrum.sync import ClientPool, SendService


@contextlib.contextmanager
def _postgres_schema(configured: str, prefix: str) -> Iterator[str]:
    """A fresh schema (and its DBOS twin) for the duration; yields the URL that uses it."""
    url = make_url(configured)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(configured, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE'))
        admin.dispose()


def _configured_postgres() -> str | None:
    configured = os.environ.get("ST_SPECTRUM_DATABASE_URL")
    if configured and make_url(configured).get_backend_name() == "postgresql":
        return configured
    return None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    postgres = _configured_postgres()
    if postgres is None:
        yield (os.environ.get("ST_SPECTRUM_DATABASE_URL")
               or f"sqlite:///{tmp_path_factory.mktemp('db') / 'st-spectrum.db'}")
        return
    with _postgres_schema(postgres, "test") as url:
        yield url


def _dbos_schema_of(database_url: str) -> str:
    options = make_url(database_url).query.get("options", "")
    schema = str(options).rpartition("search_path=")[2]
    return f"{schema}_dbos" if schema else "dbos"


@pytest.fixture(scope="session")
def dbos_schema(database_url: str) -> str:
    """The durable queue's schema on PostgreSQL: one per session, beside its app schema."""
    return _dbos_schema_of(database_url)


def subprocess_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for an ``st-spectrum`` subprocess on ``settings``' home, database and
    durable-queue schema: the parent's environment minus any ``ST_SPECTRUM_*``, fast retries,
    short timeouts, and a dead process taken over after 2 s. ``extra`` adds or overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ST_SPECTRUM_")}
    env.update({
        "ST_SPECTRUM_HOME": str(settings.home),
        "ST_SPECTRUM_DATABASE_URL": settings.effective_database_url,
        "ST_SPECTRUM_DBOS_SCHEMA": settings.dbos_schema,
        "ST_SPECTRUM_RETRY_BASE_DELAY": "0.01",
        "ST_SPECTRUM_RETRY_MAX_DELAY": "0.05",
        "ST_SPECTRUM_SPECTRUM_TIMEOUT": "3",
        "ST_SPECTRUM_SERVICETRADE_TIMEOUT": "3",
        "ST_SPECTRUM_EXECUTOR_TIMEOUT": "2",
        "PYTHONUNBUFFERED": "1",
        **extra,
    })
    return env


@pytest.fixture
def subprocess_env() -> Callable[..., dict[str, str]]:
    """:func:`subprocess_environment`, for test modules (they cannot import this file)."""
    return subprocess_environment


@pytest.fixture
def st_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ST_SPECTRUM_HOME for tests that read settings from the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("ST_SPECTRUM_HOME", str(home))
    return home


# -- a configured product against both emulators (sync and CLI tests) ------------------------
ACCOUNT = "Northwind"
CONNECTION = "Main"


@pytest.fixture
def spectrum_emulator() -> SpectrumEmulator:
    return SpectrumEmulator.from_seed()


@pytest.fixture
def servicetrade_emulator() -> Iterator[ServiceTradeEmulator]:
    emulator = ServiceTradeEmulator.from_seed()
    yield emulator
    emulator.close()


@pytest.fixture
def spectrum_url(spectrum_emulator: SpectrumEmulator) -> Iterator[str]:
    with BackgroundServer(spectrum_emulator.app) as server:
        yield f"{server.url}/ws"


@pytest.fixture
def servicetrade_url(servicetrade_emulator: ServiceTradeEmulator) -> Iterator[str]:
    with BackgroundServer(servicetrade_emulator.app) as server:
        yield f"{server.url}/api"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, dbos_schema: str) -> Settings:
    """Fast retries and short timeouts; the suite's database; a home of the test's own."""
    return Settings(home=tmp_path / "home", database_url=database_url, secret_keys=None,
                    retry_attempts=3, retry_base_delay=0.01, retry_max_delay=0.05,
                    spectrum_timeout=3.0, servicetrade_timeout=3.0, dbos_schema=dbos_schema,
                    executor_timeout=2.0)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = Store.open(settings)
    yield opened
    with opened.engine.begin() as connection:  # leave the shared database empty
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    opened.close()


def add_demo_configuration(store: Store, servicetrade_url: str, spectrum_url: str) -> Store:
    """The demo's account ("Northwind") and connection ("Main"), at the two emulators."""
    store.add_account(ACCOUNT, servicetrade_url, auth_kind="session",
                      secret=seed.DEMO_PASSWORD, username=seed.DEMO_USERNAME)
    store.add_connection(NewConnection(
        name=CONNECTION, account=ACCOUNT, ws_url=spectrum_url,
        company_code=seed.DEMO_COMPANY_CODE, authorization_id=seed.DEMO_AUTHORIZATION_ID,
        prefix="T", work_order_type="SVC"))
    return store


@pytest.fixture(scope="session")
def demo_configuration() -> Callable[[Store, str, str], Store]:
    """``add_demo_configuration``, for fixtures of other scopes and directories (a
    ``conftest`` cannot be imported by name: each directory without ``__init__`` has one)."""
    return add_demo_configuration


@pytest.fixture
def configured(store: Store, servicetrade_url: str, spectrum_url: str) -> Store:
    """The demo's account and connection on the suite's database."""
    return add_demo_configuration(store, servicetrade_url, spectrum_url)


@pytest.fixture
def durable_store(durable_settings: Settings, servicetrade_url: str,
                  spectrum_url: str) -> Iterator[Store]:
    """The demo's account and connection on the test's isolated database (for DBOS tests)."""
    store = add_demo_configuration(Store.open(durable_settings), servicetrade_url,
                                   spectrum_url)
    yield store
    store.close()


@pytest.fixture
def sender(configured: Store, settings: Settings) -> Iterator[SendService]:
    clients = ClientPool(settings)
    yield SendService(configured, clients, poll_interval=0.02)
    clients.close()


@pytest.fixture
def jobs() -> seed.NotableJobs:
    return seed.notable_jobs()


@pytest.fixture
def isolated_database(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database of this test's own, with its own durable-queue tables: (URL, DBOS schema).

    For tests that run DBOS: its workflow tables outlive the ``store`` fixture's clean-up,
    and a send left pending by one test must never be recovered into another.
    """
    postgres = _configured_postgres()
    if postgres is None:
        yield f"sqlite:///{tmp_path / 'isolated.db'}", "dbos"
        return
    with _postgres_schema(postgres, "iso") as url:
        yield url, _dbos_schema_of(url)


@pytest.fixture(scope="module")
def module_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Like ``isolated_database``, shared by one test module (its web app and send runtime
    start once per module)."""
    postgres = _configured_postgres()
    if postgres is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('module') / 'module.db'}", "dbos"
        return
    with _postgres_schema(postgres, "mod") as url:
        yield url, _dbos_schema_of(url)


@pytest.fixture
def durable_settings(settings: Settings, isolated_database: tuple[str, str]) -> Settings:
    """``settings`` on an isolated database (see ``isolated_database``)."""
    url, schema = isolated_database
    # A new object, not model_copy: effective_database_url is cached on the instance.
    return Settings(**{**settings.model_dump(), "database_url": url, "dbos_schema": schema})
