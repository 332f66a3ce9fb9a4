"""The reaper's list of processes with pending sends is DBOS's own list.

Real DBOS runtime on the test's own database. Sends are queued in three partitions, and two
of them claimed for executors of their own without being run; the reaper's statement must
name the executors that ``DBOS.list_workflows`` names (not the queued send's), and no other.
"""

from __future__ import annotations

import time

from dbos import DBOS
from dbos._dbos import _get_dbos_instance
from dbos._utils import GlobalParams, generate_uuid

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
from servicetrade_spectrum.workflows._partition_claim import claim_for
from servicetrade_spectrum.workflows._pending_sends import PendingSends
from servicetrade_spectrum.workflows._send_workflow import WORKFLOW_NAME


def test_the_executors_with_pending_sends_are_the_ones_dbos_lists(
        quiet_runtime: DurableRuntime, durable_settings: Settings) -> None:
    sys_db = _get_dbos_instance()._sys_db
    queue = SendQueue(durable_settings)
    pending = PendingSends(sys_db, WORKFLOW_NAME)
    try:
        assert pending.executor_ids() == set()
        for partition, executor in (("701", "dead-worker-a"), ("702", "dead-worker-b"),
                                    ("703", "")):
            request = SendRequest(1000 + int(partition), "Main", "test", "pytest")
            # DBOS's own client, not SendQueue.enqueue: that would claim it here at once.
            queue._client.enqueue(SendQueue.options(request, int(partition)),
                                  request.job_id, request.connection, request.trigger,
                                  request.triggered_by)
            if executor:
                assert quiet_runtime.poller is not None
                claim = claim_for(sys_db, quiet_runtime.poller.queue)
                assert claim is not None
                statuses, _ = claim.claim(partition, executor_id=executor,
                                          app_version=GlobalParams.app_version,
                                          owner_xid=generate_uuid(),
                                          start_ms=int(time.time() * 1000))
                assert len(statuses) == 1
        listed = {w.executor_id for w in DBOS.list_workflows(status="PENDING",
                                                               name=WORKFLOW_NAME)}
        assert listed == {"dead-worker-a", "dead-worker-b"}
        assert pending.executor_ids() == listed
    finally:
        queue.close()
