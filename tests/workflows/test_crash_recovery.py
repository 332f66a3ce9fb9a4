"""A process killed mid-send (SIGKILL, no clean-up) and another process taking over.

The take-over is the reaper's: a new worker sees that the dead process's heartbeat is older
than ``ST_SPECTRUM_EXECUTOR_TIMEOUT`` (2 s here) and resumes its pending sends; the resumed
send runs again only the step that was under way, and that step reads back what the dead
process may already have written. So: one work order, one external ID, one comment, and one
attempt in the history, finished (never left ``running``).
"""

from __future__ import annotations

import time

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.workflows import SendQueue

from .conftest import CONNECTION, Processes, wait_until, work_order_numbers

RECOVERY_TIMEOUT = 30.0
"""The bound of every wait for a take-over; measured take-overs are printed (pytest -s)."""


def finished_attempt(store: Store, job_id: int) -> bool:
    return any(a.status != "running" for a in store.history(job_id=job_id))


def slow_fault_taken(emulator: ServiceTradeEmulator) -> bool:
    """The injected slow fault has been consumed: its request is in flight, not yet
    applied."""
    return not emulator.faults.pending()


def test_a_worker_killed_between_the_spectrum_call_and_the_external_id_write(
        durable_store: Store, processes: Processes, send_queue: SendQueue,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    connection = durable_store.connection(CONNECTION)
    servicetrade_emulator.inject("slow", path_prefix="/externalid/job", method="POST",
                                 delay=5, count=1)
    first = processes.worker()
    handle = send_queue.enqueue(SendRequest(jobs.ready, CONNECTION, "cli", "test"),
                                connection.id)
    wait_until(lambda: work_order_numbers(spectrum_emulator) == ["T10002"]
               and slow_fault_taken(servicetrade_emulator), RECOVERY_TIMEOUT,
               "the WorkOrderHeader call, then the external-ID write under way")
    first.kill()
    killed = time.monotonic()
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {}  # not written yet
    (attempt,) = durable_store.history(job_id=jobs.ready)
    assert (attempt.status, attempt.stage) == ("running", "concluding")

    processes.worker()
    wait_until(lambda: finished_attempt(durable_store, jobs.ready), RECOVERY_TIMEOUT,
               "the second worker to finish the send")
    took = time.monotonic() - killed
    print(f"external-ID crash: finished {took:.1f}s after the SIGKILL")

    # The attempt is finished inside the last step, just before DBOS records the workflow's
    # success: wait for the workflow's result before asking its status.
    assert send_queue.result(handle).status == "sent"
    assert handle.get_status().status == "SUCCESS"
    (attempt,) = durable_store.history(job_id=jobs.ready)
    assert attempt.status == "sent", attempt.failure_message
    assert attempt.work_order_number == "T10002"
    assert attempt.external_id_written
    assert len(spectrum_emulator.work_orders()) == 1
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {"spectrum": "T10002"}
    assert servicetrade_emulator.comments(jobs.ready) == []
    # The dead worker's write lands late (the fault's 5 s); the number stays the same.
    time.sleep(max(0.0, 5.5 - (time.monotonic() - killed)))
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {"spectrum": "T10002"}
    assert len(durable_store.history(job_id=jobs.ready)) == 1


def test_a_worker_killed_while_posting_the_failure_comment(
        durable_store: Store, processes: Processes, send_queue: SendQueue,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    # The comment POST is held up for 5 s, longer than a take-over takes (heartbeat age over
    # 2 s): the dead worker's comment lands while the resumed send is already running. The
    # resumed send waits out the ServiceTrade request timeout (6 s here) before it reads back,
    # so it finds that comment and does not post a second one.
    connection = durable_store.connection(CONNECTION)
    job = jobs.customer_not_mapped
    servicetrade_emulator.inject("slow", path_prefix="/comment", method="POST", delay=5,
                                 count=1)
    first = processes.worker()
    send_queue.enqueue(SendRequest(job, CONNECTION, "cli", "test"), connection.id)
    wait_until(lambda: slow_fault_taken(servicetrade_emulator), RECOVERY_TIMEOUT,
               "the comment POST under way")
    first.kill()
    killed = time.monotonic()
    (attempt,) = durable_store.history(job_id=job)
    assert (attempt.status, attempt.stage) == ("running", "concluding")

    processes.worker()
    wait_until(lambda: finished_attempt(durable_store, job), RECOVERY_TIMEOUT,
               "the second worker to finish the failed send")
    print(f"comment crash: finished {time.monotonic() - killed:.1f}s after the SIGKILL")

    (attempt,) = durable_store.history(job_id=job)
    assert attempt.status == "failed"
    assert attempt.failure_kind == "customer_not_mapped"
    assert attempt.comment_posted
    comments = [c["content"] for c in servicetrade_emulator.comments(job)]
    assert comments == [attempt.comment_text]
    assert spectrum_emulator.requests == []


def test_a_send_command_killed_mid_send_is_finished_by_a_worker(
        durable_store: Store, processes: Processes, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    # No server runs: the command runs the send itself, in an embedded runtime. It dies
    # while its WorkOrderHeader call is in flight at Spectrum.
    spectrum_emulator.settings.latency_ms = 3000
    command = processes.start("send", str(jobs.ready), "--connection", CONNECTION)
    wait_until(lambda: spectrum_emulator.in_flight == 1, RECOVERY_TIMEOUT,
               "the command's WorkOrderHeader call")
    command.kill()
    killed = time.monotonic()
    spectrum_emulator.settings.latency_ms = 0
    (attempt,) = durable_store.history(job_id=jobs.ready)
    assert attempt.status == "running"

    started = time.monotonic()
    processes.worker()
    ready = time.monotonic() - started
    took = wait_until(lambda: finished_attempt(durable_store, jobs.ready), RECOVERY_TIMEOUT,
                      "the worker to finish the command's send")
    print(f"send command crash: worker ready in {ready:.1f}s, send finished {took:.1f}s "
          f"later ({time.monotonic() - killed:.1f}s after the SIGKILL)")
    assert took < 10, f"took over after {took:.1f}s"

    (attempt,) = durable_store.history(job_id=jobs.ready)
    assert attempt.status == "sent", attempt.failure_message
    assert attempt.trigger == "cli"
    assert len(spectrum_emulator.work_orders()) == 1
    assert set(work_order_numbers(spectrum_emulator)) == {"T10002"}  # the same WO again
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {"spectrum": "T10002"}
    assert servicetrade_emulator.comments(jobs.ready) == []
