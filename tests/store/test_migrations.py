from __future__ import annotations

from sqlalchemy import inspect

from servicetrade_spectrum.store import (
    create_database_engine,
    current_revision,
    head_revision,
    upgrade_to_head,
)


def test_migrations_bring_a_new_database_to_head_and_are_idempotent(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()
        assert "alembic_version" in inspect(engine).get_table_names()
        upgrade_to_head(engine)  # a second start changes nothing
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_engine_uses_wal_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_database_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_migrations_build_exactly_the_schema_the_models_describe(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from servicetrade_spectrum.store._migrations import only_our_tables
    from servicetrade_spectrum.store._models import Base

    engine = create_database_engine(database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": only_our_tables})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_tables_the_application_does_not_own_are_left_alone(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    from servicetrade_spectrum.store._migrations import only_our_tables
    from servicetrade_spectrum.store._models import Base

    engine = create_database_engine(database_url)
    try:
        upgrade_to_head(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE workflow_status_like_dbos (id INTEGER)"))
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": only_our_tables})
            assert compare_metadata(context, Base.metadata) == []
        upgrade_to_head(engine)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE workflow_status_like_dbos"))
        engine.dispose()


def test_the_fast_path_head_is_the_newest_migration() -> None:
    from servicetrade_spectrum.store._migrations import HEAD_REVISION

    # A new migration must update HEAD_REVISION, or stores would never upgrade to it.
    assert head_revision() == HEAD_REVISION
