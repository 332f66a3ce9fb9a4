"""Alembic environment: runs against the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from servicetrade_spectrum.store._migrations import only_our_tables
from servicetrade_spectrum.store._models import Base

engine = context.config.attributes["engine"]


with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      include_object=only_our_tables,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
