"""Which processes hold pending sends: the reaper's question, from a statement built once.

Every ``serve`` and ``worker`` asks it every ``REAP_SECONDS`` (``DurableRuntime.reap``), to
find the sends of processes whose heartbeat stopped. DBOS's ``list_workflows`` answered it by
reading every pending send's whole status, inputs and output included, and built its query
anew each time: 1.6 ms of CPU a look on SQLite and 3.4 ms on PostgreSQL, in a process with
nothing to do (issue 7's idle runtime). Only the executor IDs are needed, and only when one
of them is dead are its sends recovered, by DBOS.

The rows are the ones ``DBOS.list_workflows(status="PENDING", name=WORKFLOW_NAME)`` lists
(this application's own); ``tests/workflows/test_pending_sends.py`` holds it to that.
"""

from __future__ import annotations

import sqlalchemy as sa
from dbos._sys_db import SystemDatabase, WorkflowStatusString

from servicetrade_spectrum.store import DriverStatement, driver_dialect, one_statement

__all__ = ["PendingSends"]


class PendingSends:
    """The executors of the pending runs of one workflow, in one system database."""

    def __init__(self, sys_db: SystemDatabase, workflow_name: str) -> None:
        self._engine = sys_db.engine
        ws = sys_db.tables.workflow_status
        executors = (
            sa.select(ws.c.executor_id).distinct()
            .where(ws.c.status == WorkflowStatusString.PENDING.value,
                   ws.c.name == workflow_name,
                   sys_db._observability_filter(ws.c.application_name, None)))
        self._executors = DriverStatement(
            executors, driver_dialect(self._engine),
            schema_translate_map=self._engine.get_execution_options().get(
                "schema_translate_map"))

    def executor_ids(self) -> set[str]:
        """The executor IDs that hold pending runs (one read; in autocommit on PostgreSQL)."""
        with one_statement(self._engine) as connection:
            return {row[0] for row in self._executors.execute(connection, {}).rows if row[0]}
