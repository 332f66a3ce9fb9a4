"""DBOS's system database on SQLite, its writes on a send's path compiled once.

DBOS compiles the statements of its hot path once on PostgreSQL (``_execute_prepared``), but
on SQLite it builds them anew at every call: its compiled SQL there is positional, and a
table's schema is None, which SQLAlchemy renders only at execution. And the first statement
of a workflow's outcome (the status UPDATE) it builds anew on every backend. Issue 7's profile
of a durable send on SQLite: queuing it cost 1.2 ms of CPU and recording its outcome 1.5 ms,
almost all of it SQLAlchemy building statements and their cache keys, while the database's
own work in them is about a tenth of a millisecond.

:class:`PreparedSQLiteSystemDatabase` is DBOS's SQLite system database with those two
changed, statement for statement the same SQL:

- ``_execute_prepared`` compiles each statement once to driver SQL with named parameters
  (``store.DriverStatement``), as DBOS does on PostgreSQL. It serves the status and input inserts
  of every enqueue and the output upsert of every outcome;
- ``_update_workflow_outcome_in_transaction`` compiles its status UPDATE once too, the
  workflow, its new status and its owner as parameters instead of constants; it runs both
  of its statements on the driver's cursor (``DriverStatement.execute``), as it reads
  nothing of their results but the UPDATE's row count.

:func:`prepare_statements` turns a system database DBOS made into one of these; anything but
DBOS's plain SQLite one is left alone. ``tests/workflows/test_sqlite_system_database.py``
queues, deduplicates and ends workflows both ways and fails if their rows ever differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from dbos._schemas import SCHEMA_PLACEHOLDER
from dbos._sys_db import SystemDatabase, WorkflowStatuses, WorkflowStatusString
from dbos._sys_db_sqlite import SQLiteSystemDatabase
from sqlalchemy.orm import Session

from servicetrade_spectrum.store import DriverStatement, driver_dialect

__all__ = ["PreparedSQLiteSystemDatabase", "prepare_statements"]


def prepare_statements(sys_db: SystemDatabase) -> None:
    """Make DBOS's SQLite system database ``sys_db`` compile its hot-path statements once;
    leave any other alone (PostgreSQL's compiles them once already)."""
    if type(sys_db) is SQLiteSystemDatabase:
        # DBOS's state, more methods, and the two attributes the subclass's methods use.
        sys_db.__class__ = PreparedSQLiteSystemDatabase
        assert isinstance(sys_db, PreparedSQLiteSystemDatabase)
        sys_db._driver_statements = {}
        sys_db._driver_dialect = driver_dialect(sys_db.engine)  # one for all its statements


class PreparedSQLiteSystemDatabase(SQLiteSystemDatabase):
    """DBOS's SQLite system database, its hot-path statements compiled once (see the
    module's docstring). Made by :func:`prepare_statements`, never constructed."""

    _driver_statements: dict[tuple[str, tuple[str, ...]], DriverStatement]
    """Each statement compiled so far, by DBOS's name for it and the names of its values."""
    _driver_dialect: sa.Dialect

    def _execute_prepared(self, conn: sa.Connection | Session, name: str,
                          values: dict[str, Any], build: Callable[[], Any], *,
                          insert_columns: bool = True) -> Any:
        connection = conn.connection() if isinstance(conn, Session) else conn
        if connection.dialect is not self.engine.dialect:  # DBOS compiles for another driver
            return conn.execute(build(), values)
        # Through SQLAlchemy: DBOS's callers read its result object (a row's ``_mapping``).
        statement = self._driver_statement(name, values, build, insert_columns=insert_columns)
        return statement.run(connection, values)

    def _driver_statement(self, name: str, values: dict[str, Any], build: Callable[[], Any],
                          *, insert_columns: bool = True) -> DriverStatement:
        """The statement DBOS names ``name`` for these ``values``, compiled on first use."""
        key = (name, tuple(values))
        statement = self._driver_statements.get(key)
        if statement is None:
            statement = self._driver_statements[key] = DriverStatement(
                build(), self._driver_dialect,
                schema_translate_map={SCHEMA_PLACEHOLDER: self.schema},
                column_keys=list(values) if insert_columns else None)
        return statement

    def _update_workflow_outcome_in_transaction(
            self, workflow_id: str, status: WorkflowStatuses, *, output: str | None,
            error: str | None, owner_xid: str | None) -> bool:
        # DBOS's two statements in one transaction; only the UPDATE is built differently.
        values: dict[str, Any] = {"wf_id": workflow_id, "new_status": status}
        if owner_xid is not None:
            values["owner"] = owner_xid

        def build_update() -> Any:
            ws = self.tables.workflow_status
            now_ms = self._now_ms_sql()
            update = (
                sa.update(ws)
                .values(status=sa.bindparam("new_status", type_=ws.c.status.type),
                        # A finished workflow is no longer deduplicated, and has no owner.
                        deduplication_id=None, owner_xid=None,
                        updated_at=now_ms, completed_at=now_ms)
                .where(ws.c.workflow_uuid == sa.bindparam("wf_id", type_=ws.c.workflow_uuid.type),
                       ws.c.status == WorkflowStatusString.PENDING.value))
            if owner_xid is not None:
                update = update.where(
                    ws.c.owner_xid == sa.bindparam("owner", type_=ws.c.owner_xid.type))
            return update

        def build_output_upsert() -> Any:
            insert = self.dialect.insert(self.tables.workflow_output)
            return insert.on_conflict_do_update(
                index_elements=self._key_conflict("workflow_uuid"),
                set_={"output": insert.excluded.output, "error": insert.excluded.error})

        output_values = {"workflow_uuid": workflow_id, "output": output, "error": error}
        with self.engine.begin() as connection:
            updated = self._driver_statement(
                "outcome_status" + ("" if owner_xid is None else "_owned"), values,
                build_update, insert_columns=False).execute(connection, values)
            if updated.rowcount == 0:  # not ours to write: leave no orphan output either
                return False
            self._driver_statement("upsert_workflow_output", output_values,
                                   build_output_upsert).execute(connection, output_values)
            return True
