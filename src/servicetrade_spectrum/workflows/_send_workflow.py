"""The durable send: a DBOS workflow whose steps are the send's three resumable steps.

A process killed at any point resumes the workflow when a process starts again: a finished
step is not run again, the step under way is, and each step is safe to repeat (see
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
def prepare_step(job_id: int, connection: str, trigger: str,
                 triggered_by: str) -> Prepared | None:
    """Step 1, or None while the connection is paused (nothing is read or recorded then)."""
    try:
        return services().prepare(job_id, connection, trigger=trigger,
                                  triggered_by=triggered_by, run_id=DBOS.workflow_id)
    except ConnectionPaused:
        return None


@DBOS.step()
def call_spectrum_step(prepared: Prepared) -> Called:
    return services().call_spectrum(prepared)


@DBOS.step()
def conclude_step(prepared: Prepared, called: Called | None) -> SendResult:
    return services().conclude(prepared, called)


@DBOS.workflow(name=WORKFLOW_NAME)
def send_job(job_id: int, connection: str, trigger: str, triggered_by: str) -> SendResult:
    # A queued send waits while its connection is paused (an Authorization ID that Spectrum
    # refuses); it goes ahead once someone resumes the connection. The pause is checked by
    # step 1 itself: a separate step would cost every send another recorded step.
    prepared = prepare_step(job_id, connection, trigger, triggered_by)
    while prepared is None:
        DBOS.sleep(PAUSED_RECHECK_SECONDS)
        prepared = prepare_step(job_id, connection, trigger, triggered_by)
    called = call_spectrum_step(prepared) if prepared.failure is None else None
    result = conclude_step(prepared, called)
    finished(DBOS.workflow_id or "", result)
    return result
