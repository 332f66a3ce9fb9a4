"""The database: engine creation and schema migrations (SQLAlchemy 2 + Alembic)."""

from servicetrade_spectrum.store._engine import create_database_engine
from servicetrade_spectrum.store._migrations import (
    current_revision,
    head_revision,
    upgrade_to_head,
)

__all__ = ["create_database_engine", "current_revision", "head_revision", "upgrade_to_head"]
