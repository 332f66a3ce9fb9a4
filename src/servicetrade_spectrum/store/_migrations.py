"""Applying the Alembic migrations that ship inside the package, on every start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["current_revision", "head_revision", "only_our_tables", "upgrade_to_head"]

_SCRIPTS = Path(__file__).with_name("migrations")


def only_our_tables(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    """Alembic ``include_object``: leave alone tables the application does not own. On SQLite
    the durable queue's (DBOS) tables share the database file, and must never look like tables
    to drop."""
    return not (type_ == "table" and reflected and compare_to is None)


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema up to date. Safe to call on every start; a no-op when current."""
    command.upgrade(_config(engine), "head")


def head_revision() -> str | None:
    return ScriptDirectory(str(_SCRIPTS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
