"""A statement compiled once to driver SQL runs as SQLAlchemy would run it: same rows written,
same values read back (JSON and booleans through their types), any number of IN values."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.store import DriverStatement, create_database_engine, driver_dialect

PLACEHOLDER = "__placeholder_schema__"
metadata = sa.MetaData(schema=PLACEHOLDER)
items = sa.Table("driver_sql_items", metadata,
                 sa.Column("id", sa.Text, primary_key=True),
                 sa.Column("state", sa.Text, nullable=False),
                 sa.Column("details", sa.JSON),
                 sa.Column("flagged", sa.Boolean, nullable=False))


@pytest.fixture
def engine(durable_settings: Settings) -> Iterator[sa.Engine]:
    """The test's database, its tables named through a schema placeholder, as DBOS's are."""
    url = durable_settings.effective_database_url
    schema = None if url.startswith("sqlite") else durable_settings.dbos_schema
    base = create_database_engine(url)
    with base.begin() as connection:
        if schema is not None:
            connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    translated = base.execution_options(schema_translate_map={PLACEHOLDER: schema})
    metadata.create_all(translated)
    yield translated
    metadata.drop_all(translated)
    base.dispose()


def prepared(statement: sa.Executable, engine: sa.Engine) -> DriverStatement:
    return DriverStatement(statement, driver_dialect(engine),  # type: ignore[arg-type]
                           schema_translate_map=engine.get_execution_options()[
                               "schema_translate_map"])


def test_writes_and_reads_as_sqlalchemy_does(engine: sa.Engine) -> None:
    insert = prepared(items.insert(), engine)
    select = prepared(sa.select(items).where(items.c.id.in_(sa.bindparam("ids", expanding=True)))
                      .order_by(items.c.id), engine)
    with engine.begin() as connection:
        for number in range(4):
            insert.run(connection, {"id": f"ours-{number}", "state": "new",
                                    "details": {"n": number, "tags": ["a"]},
                                    "flagged": number % 2 == 1})
        connection.execute(items.insert(), [
            {"id": f"theirs-{number}", "state": "new", "details": {"n": number, "tags": ["a"]},
             "flagged": number % 2 == 1} for number in range(4)])

    with engine.connect() as connection:
        def by_sqlalchemy(ids: list[str]) -> list[dict[str, object]]:
            return [dict(row) for row in connection.execute(
                sa.select(items).where(items.c.id.in_(ids)).order_by(items.c.id)).mappings()]

        ours = select.mappings(connection, {}, expand=("ids", [f"ours-{n}" for n in range(4)]))
        theirs = by_sqlalchemy([f"theirs-{n}" for n in range(4)])
        assert [{**row, "id": None} for row in ours] == [{**row, "id": None} for row in theirs]
        assert ours[1]["details"] == {"n": 1, "tags": ["a"]}
        assert ours[1]["flagged"] is True
        # Another number of values: compiled again for it, the first compilation kept.
        assert [row["id"] for row in select.mappings(
            connection, {}, expand=("ids", ["ours-3", "ours-0"]))] == ["ours-0", "ours-3"]
        assert [row["id"] for row in select.mappings(
            connection, {}, expand=("ids", ["ours-2"]))] == ["ours-2"]


def test_the_statements_constants_are_kept_and_values_replace_nothing_else(
        engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(items.insert(), [
            {"id": f"item-{number}", "state": "new", "details": None, "flagged": False}
            for number in range(3)])
    # "new" and True are the statement's own; only "ids" and "state" change per run.
    flip = prepared(items.update()
                    .where(items.c.id.in_(sa.bindparam("ids", expanding=True)),
                           items.c.state == "new")
                    .values(state=sa.bindparam("state"), flagged=True)
                    .returning(items.c.id), engine)
    with engine.begin() as connection:
        assert [row[0] for row in flip.run(connection, {"state": "done"},
                                           expand=("ids", ["item-0", "item-1"]))] in (
            ["item-0", "item-1"], ["item-1", "item-0"])
        # item-0 is no longer "new": the constant still applies.
        assert [row[0] for row in flip.run(connection, {"state": "again"},
                                           expand=("ids", ["item-0", "item-2"]))] == ["item-2"]
    with engine.connect() as connection:
        assert dict(connection.execute(sa.select(items.c.id, items.c.state)).all()) == {
            "item-0": "done", "item-1": "done", "item-2": "again"}
        assert all(connection.execute(sa.select(items.c.flagged)).scalars())


def test_execute_on_the_driver_writes_in_the_connections_transaction(engine: sa.Engine) -> None:
    insert = prepared(items.insert(), engine)
    flag = prepared(items.update().where(items.c.state == sa.bindparam("state"))
                    .values(flagged=True).returning(items.c.id), engine)
    # No begin(): execute begins the transaction as SQLAlchemy's autobegin would, so the
    # caller's commit() commits the write; one never committed is rolled back.
    with engine.connect() as connection:
        for number in range(3):
            assert insert.execute(connection, {
                "id": f"item-{number}", "state": "new" if number else "old", "details": None,
                "flagged": False}).rowcount == 1
        connection.commit()
    with engine.connect() as connection:
        insert.execute(connection, {"id": "never-committed", "state": "new", "details": None,
                                    "flagged": False})
    with engine.connect() as connection:
        flagged = flag.execute(connection, {"state": "new"})
        assert sorted(row[0] for row in flagged.rows) == ["item-1", "item-2"]
        assert flagged.rowcount == 2
        connection.commit()
    with engine.connect() as connection:
        assert dict(connection.execute(sa.select(items.c.id, items.c.flagged)).all()) == {
            "item-0": False, "item-1": True, "item-2": True}


def test_execute_raises_a_driver_error_as_sqlalchemy_does(engine: sa.Engine) -> None:
    insert = prepared(items.insert(), engine)
    row = {"id": "item", "state": "new", "details": None, "flagged": False}
    with engine.begin() as connection:
        insert.execute(connection, row)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        insert.execute(connection, row)
    with engine.connect() as connection:  # the pool's connection still serves
        assert connection.scalar(sa.select(sa.func.count()).select_from(items)) == 1


def test_execute_on_a_dead_database_connection_renews_the_pool(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a SQLite connection is a file, it cannot die")
    engine = create_database_engine(database_url, pool_size=1, max_overflow=0)
    admin = sa.create_engine(database_url)
    backend = DriverStatement(sa.select(sa.func.pg_backend_pid()), driver_dialect(engine))
    try:
        with engine.connect() as connection:
            first = backend.scalar(connection, {})
        with admin.begin() as connection:
            assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"),
                                     {"pid": first})
        time.sleep(0.2)  # the backend exits just after
        with engine.connect() as connection:
            with pytest.raises(sa.exc.DBAPIError) as failed:
                backend.scalar(connection, {})
            assert failed.value.connection_invalidated
            assert connection.invalidated
        with engine.connect() as connection:
            assert backend.scalar(connection, {}) != first
    finally:
        engine.dispose()
        admin.dispose()
