"""Applying the Alembic migrations that ship inside the package, on every start.

Every command opens the store, so the common case (schema already current) must be cheap:
one query of ``alembic_version`` against :data:`HEAD_REVISION`, without importing Alembic.
Alembic is loaded only when there is something to upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "current_revision", "head_revision", "only_our_tables",
           "upgrade_to_head"]

_SCRIPTS = Path(__file__).with_name("migrations")

HEAD_REVISION = "0006_spectrum_slots"
"""The newest migration's revision. Update it with every new migration (a test checks)."""


def only_our_tables(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    """Alembic ``include_object``: leave alone tables the application does not own. On SQLite
    the durable queue's (DBOS) tables share the database file, and must never look like tables
    to drop."""
    return not (type_ == "table" and reflected and compare_to is None)


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["engine"] = engine
    return config


def _recorded_revision(engine: Engine) -> str | None:
    """The revision in ``alembic_version``, or None for a new database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema up to date. Safe to call on every start; a no-op when current."""
    if _recorded_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    command.upgrade(_config(engine), "head")


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(_SCRIPTS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
