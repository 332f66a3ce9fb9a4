"""The database: accounts, connections, sync attempts and send locks (SQLAlchemy 2 +
Alembic, migrations applied on open), with secrets encrypted at rest."""

from servicetrade_spectrum.store._engine import create_database_engine
from servicetrade_spectrum.store._migrations import (
    current_revision,
    head_revision,
    upgrade_to_head,
)
from servicetrade_spectrum.store._records import (
    AccountConfig,
    AttemptRecord,
    BulkRunRecord,
    ConnectionConfig,
)
from servicetrade_spectrum.store._secrets import SecretBox, SecretKeyMismatch, load_secret_box
from servicetrade_spectrum.store._store import AlreadyExists, NewConnection, NotFound, Store

__all__ = [
    "AccountConfig",
    "AlreadyExists",
    "AttemptRecord",
    "BulkRunRecord",
    "ConnectionConfig",
    "NewConnection",
    "NotFound",
    "SecretBox",
    "SecretKeyMismatch",
    "Store",
    "create_database_engine",
    "current_revision",
    "head_revision",
    "load_secret_box",
    "upgrade_to_head",
]
