"""The multi-machine layout: two ``st-spectrum worker`` processes share one PostgreSQL
database and its send queue. Every send runs once, both workers take part, and Spectrum
never sees more than ``spectrum_concurrency`` (3) calls of the connection at once."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from sqlalchemy.engine import make_url

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.workflows import SendQueue

from .conftest import CONNECTION, Processes, wait_until, work_order_numbers

_URL = os.environ.get("ST_SPECTRUM_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not _URL or make_url(_URL).get_backend_name() != "postgresql",
    reason="two workers is the multi-machine layout, which needs PostgreSQL: run the suite "
           "with ST_SPECTRUM_DATABASE_URL=postgresql+psycopg://... (SQLite serves one process "
           "at a time)")

SENDS = 200


def test_two_workers_send_200_jobs_once_each_within_the_concurrency_limit(
        durable_store: Store, durable_settings: Settings, processes: Processes,
        send_queue: SendQueue, spectrum_emulator: SpectrumEmulator) -> None:
    connection = durable_store.connection(CONNECTION)
    job_ids = [job["id"] for job in seed.servicetrade_state()["jobs"][:SENDS]]
    spectrum_emulator.settings.latency_ms = 20  # calls overlap, so the limit is exercised
    workers = [processes.worker(), processes.worker()]
    executors = {w.wait_for_output(r"st-spectrum worker (\S+):").group(1) for w in workers}
    assert len(executors) == 2
    spectrum_emulator.reset_stats()

    started = time.monotonic()
    for job_id in job_ids:
        send_queue.enqueue(SendRequest(job_id, CONNECTION, "cli", "test"), connection.id)
    enqueued = time.monotonic() - started

    def finished() -> int:
        return sum(1 for a in durable_store.history(limit=10 * SENDS) if a.status != "running")

    wait_until(lambda: finished() == SENDS, 60, f"{SENDS} finished sends", interval=0.5)
    took = time.monotonic() - started
    print(f"two workers: {SENDS} sends enqueued in {enqueued:.1f}s, all finished in "
          f"{took:.1f}s; Spectrum peak in flight {spectrum_emulator.max_in_flight}")

    attempts = durable_store.history(limit=10 * SENDS)
    per_job = Counter(a.job_id for a in attempts)
    assert set(per_job) == set(job_ids)
    assert max(per_job.values()) == 1, [j for j, n in per_job.items() if n > 1]
    numbers = Counter(work_order_numbers(spectrum_emulator))
    assert max(numbers.values()) == 1, [n for n, c in numbers.items() if c > 1]
    sent = {a.work_order_number for a in attempts if a.status == "sent"}
    assert sent
    assert sent <= set(numbers)
    assert len(spectrum_emulator.work_orders()) == len(sent)

    # Which process ran each send: its DBOS workflow's executor ID.
    workflows = send_queue._client.list_workflows(load_input=False, load_output=False)
    assert len(workflows) == SENDS
    assert {w.status for w in workflows} == {"SUCCESS"}
    by_executor = Counter(w.executor_id for w in workflows)
    print(f"two workers: sends per executor {dict(by_executor)}")
    assert set(by_executor) == executors, by_executor  # both took part, nobody else did
    assert spectrum_emulator.max_in_flight <= durable_settings.spectrum_concurrency
