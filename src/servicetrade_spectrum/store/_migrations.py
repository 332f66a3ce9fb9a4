"""Applying the Alembic migrations that ship inside the package, on every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["current_revision", "head_revision", "upgrade_to_head"]

_SCRIPTS = Path(__file__).with_name("migrations")


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
