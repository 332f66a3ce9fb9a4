"""The durable send: a DBOS workflow that records the send's three resumable steps as two.

A process killed at any point resumes the workflow when a process starts again: a finished
recorded step is not run again, the one under way is, and each is safe to repeat (see
:mod:`servicetrade_spectrum.sync._send`). Steps do not retry by themselves: the clients
already retried transient failures under the one retry policy.

The step functions reach the process's :class:`SendService` through :func:`services`, set
when the runtime starts; DBOS needs module-level functions, registered at import.
"""

from __future__ import annotations

from dbos import DBOS

from servicetrade_spectrum.sync import ConnectionPaused, SendResult, SendService
from servicetrade_spectrum.sync._send import Called, Prepared
from servicetrade_spectrum.workflows._finished_here import finished

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


@DBOS.step()
def prepare_and_call_step(job_id: int, connection: str, trigger: str, triggered_by: str
                          ) -> tuple[Prepared, Called | None] | None:
    """Steps 1 and 2 as one recorded step, or None while the connection is paused (nothing
    is read or recorded then). Spectrum is called only when step 1 found nothing to fix."""
    sender = services()
    try:
        prepared = sender.prepare(job_id, connection, trigger=trigger,
                                  triggered_by=triggered_by, run_id=DBOS.workflow_id)
    except ConnectionPaused:
        return None
    return prepared, sender.call_spectrum(prepared) if prepared.failure is None else None


@DBOS.step()
def conclude_step(prepared: Prepared, called: Called | None) -> SendResult:
    return services().conclude(prepared, called)


@DBOS.workflow(name=WORKFLOW_NAME)
def send_job(job_id: int, connection: str, trigger: str, triggered_by: str) -> SendResult:
    # A queued send waits while its connection is paused (an Authorization ID that Spectrum
    # refuses); it goes ahead once someone resumes the connection. The pause is checked by
    # the first step itself: a separate step would cost every send another recorded step.
    #
    # Reading the job and calling Spectrum are one recorded step, not two: each recorded
    # step costs DBOS two statements, and both halves are safe to run again (the call names
    # its own WO_Number, so a resumed call updates the same work order). A send resumed in
    # that step reads the job again before it calls.
    started = prepare_and_call_step(job_id, connection, trigger, triggered_by)
    while started is None:
        DBOS.sleep(PAUSED_RECHECK_SECONDS)
        started = prepare_and_call_step(job_id, connection, trigger, triggered_by)
    prepared, called = started
    result = conclude_step(prepared, called)
    finished(DBOS.workflow_id or "", result)
    return result
