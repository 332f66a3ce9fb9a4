"""The durable send: a DBOS workflow that records no step of its own.

A process killed at any point resumes the workflow when a process starts again, and the
workflow runs :meth:`SendService.run` again, which goes on from the send's attempt record:
each of the send's steps is safe to repeat (see :mod:`servicetrade_spectrum.sync._send`).
DBOS records only the workflow's start and its result. Nothing retries by itself here: the
clients already retried transient failures under the one retry policy.

The workflow reaches the process's :class:`SendService` through :func:`services`, set when the
runtime starts; DBOS needs module-level functions, registered at import.
"""

from __future__ import annotations

from dbos import DBOS

from servicetrade_spectrum.sync import ConnectionPaused, SendResult, SendService
from servicetrade_spectrum.workflows._finished_here import finished, running_here

__all__ = ["PAUSED_RECHECK_SECONDS", "WORKFLOW_NAME", "send_job", "services", "use_services"]

WORKFLOW_NAME = "send_job"
PAUSED_RECHECK_SECONDS = 5.0

_services: SendService | None = None


def use_services(sender: SendService | None) -> None:
    global _services
    _services = sender


def services() -> SendService:
    if _services is None:
        raise RuntimeError("the durable-send runtime has not been started in this process")
    return _services


@DBOS.workflow(name=WORKFLOW_NAME)
def send_job(job_id: int, connection: str, trigger: str, triggered_by: str) -> SendResult:
    # No recorded steps: each costs DBOS two transactions (a look for an earlier result, then
    # the write of this one) and the send's own attempt record already says how far a crashed
    # run got (docs/decisions.md). A queued send waits while its connection is paused (an
    # Authorization ID that Spectrum refuses) and goes ahead once someone resumes it.
    run_id = DBOS.workflow_id or ""
    with running_here(run_id):
        while True:
            try:
                result = services().run(job_id, connection, trigger=trigger,
                                        triggered_by=triggered_by, run_id=run_id)
                break
            except ConnectionPaused:
                DBOS.sleep(PAUSED_RECHECK_SECONDS)
        finished(run_id, result)
    return result
