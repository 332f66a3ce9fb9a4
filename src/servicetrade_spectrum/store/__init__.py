"""The database: accounts, connections, sync attempts and send locks (SQLAlchemy 2 +
Alembic, migrations applied on open), with secrets encrypted at rest."""

from servicetrade_spectrum.store._driver_sql import DriverRows, DriverStatement, driver_dialect
from servicetrade_spectrum.store._engine import create_database_engine, one_statement
from servicetrade_spectrum.store._migrations import (
    current_revision,
    head_revision,
    upgrade_to_head,
)
from servicetrade_spectrum.store._notices import NoticeListener, notify
from servicetrade_spectrum.store._records import (
    AccountConfig,
    AttemptProgress,
    AttemptRecord,
    BulkRunRecord,
    ConnectionConfig,
    HistoryFilter,
    HistoryPage,
)
from servicetrade_spectrum.store._secrets import SecretBox, SecretKeyMismatch, load_secret_box
from servicetrade_spectrum.store._store import AlreadyExists, NewConnection, NotFound, Store
from servicetrade_spectrum.store._users import (
    API_TOKEN_PREFIX,
    SESSION_LIFETIME,
    ApiTokenRecord,
    BrowserSession,
    UserRecord,
    Users,
)

__all__ = [
    "API_TOKEN_PREFIX",
    "SESSION_LIFETIME",
    "AccountConfig",
    "AlreadyExists",
    "ApiTokenRecord",
    "AttemptProgress",
    "AttemptRecord",
    "BrowserSession",
    "BulkRunRecord",
    "ConnectionConfig",
    "DriverRows",
    "DriverStatement",
    "HistoryFilter",
    "HistoryPage",
    "NewConnection",
    "NotFound",
    "NoticeListener",
    "SecretBox",
    "SecretKeyMismatch",
    "Store",
    "UserRecord",
    "Users",
    "create_database_engine",
    "current_revision",
    "driver_dialect",
    "head_revision",
    "load_secret_box",
    "notify",
    "one_statement",
    "upgrade_to_head",
]
