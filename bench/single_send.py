"""One send against its floor: sequential round trips, wall time, CPU time.

Both emulators run in processes of their own, every answer delayed by L ms. A first send
needs at least 4 sequential round trips (read the job; its company, location and contract at
once; WorkOrderHeader; write the job's external ID), a re-send 3 (the external ID already
holds the number). Round trips are counted from the emulators' logs: requests that arrive
before the previous ones' answers could have come back belong to the same round trip.

Two paths are measured, both with warm clients (signed in to ServiceTrade already):
``direct`` is :meth:`SendService.send` in this process (what a worker does inside its
steps); ``durable`` is a send through the durable queue with the runtime in this process
(what ``serve`` does for a click on the Send menu), queue wait included.

    .venv/bin/python -m bench.single_send [--sends 20] [--latency-ms 0 50] [--database-url URL]

CPU time is this process's (all its threads), per send.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench._harness import (
    Emulator,
    big_servicetrade_state,
    machine,
    percentile,
    round_trips,
    started_emulator,
)
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.logs import configure_logging
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.sync import ClientPool, SendRequest, SendResult, SendService
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue

FLOOR = {"first": 4, "re-send": 3}


@dataclass
class Sample:
    wall_ms: float
    cpu_ms: float
    started: float
    ended: float
    round_trips: int = 0
    requests: int = 0


def measure(send: Callable[[], SendResult]) -> Sample:
    started = time.time()
    wall, cpu = time.perf_counter(), time.process_time()
    result = send()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.status == "sent", result
    return Sample(wall * 1000, cpu * 1000, started, time.time())


def count_round_trips(samples: list[Sample], emulators: list[Emulator],
                      latency_ms: float) -> None:
    """Each sample's requests and round trips, from the emulators' logs read once at the end
    (reading them between sends would leave their garbage to be collected in the next
    send's CPU time)."""
    times = sorted(t for e in emulators for t in e.request_times())
    for sample in samples:
        mine = [t for t in times if sample.started <= t <= sample.ended]
        # At L = 0 answers are immediate and waves cannot be told apart by time: the count
        # of round trips is taken at L = 50 (same code path); the request count is reported.
        sample.round_trips = round_trips(mine, latency_ms / 1000) if latency_ms else 0
        sample.requests = len(mine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    print(f"machine: {machine()}")
    print("| path | L (ms) | send | round trips (floor) | requests | wall p50 / p95 (ms) "
          "| wall / floor | CPU p50 (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for latency in args.latency_ms:
        run(latency, args)


@dataclass
class Bench:
    """What a run sends with: both emulators, the store with one connection, a warm sender."""

    settings: Settings
    store: Store
    sender: SendService
    name: str
    connection_id: int
    emulators: list[Emulator]
    jobs: Iterator[int]
    """Sendable jobs, each not sent yet."""


@contextmanager
def bench_setup(latency_ms: float, jobs: int, database_url: str | None,
                dbos_schema: str) -> Iterator[Bench]:
    """Both emulators at ``latency_ms``, ``jobs`` sendable jobs, a store on ``database_url``
    (default: SQLite, temporary) with one connection, and a sender warmed by one send."""
    state, job_ids = big_servicetrade_state(jobs + 1)
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    settings = Settings(home=home, database_url=database_url, dbos_schema=dbos_schema)
    with started_emulator("spectrum", latency_ms=latency_ms) as spectrum, \
            started_emulator("servicetrade", latency_ms=latency_ms, state=state) as st:
        store = Store.open(settings)
        name = f"Bench-{int(time.time() * 1000)}"
        store.add_account(name, st.api, auth_kind="session", secret=seed.DEMO_PASSWORD,
                          username=seed.DEMO_USERNAME)
        connection = store.add_connection(NewConnection(
            name=name, account=name, ws_url=spectrum.api, company_code="1",
            authorization_id=seed.DEMO_AUTHORIZATION_ID, prefix="B", work_order_type="SVC"))
        clients = ClientPool(settings)
        sender = SendService(store, clients)
        remaining = iter(job_ids)
        sender.send(next(remaining), name)  # warm: the ServiceTrade session, connections
        try:
            yield Bench(settings, store, sender, name, connection.id, [spectrum, st],
                        remaining)
        finally:
            clients.close()
            store.close()


@contextmanager
def durable_sends(bench: Bench) -> Iterator[Callable[[int], SendResult]]:
    """A durable send through the queue, the runtime in this process (as ``serve`` runs
    it), warmed by one send."""
    runtime = DurableRuntime(bench.settings, bench.store, bench.sender, role="serve").start()
    queue = SendQueue(bench.settings)
    try:
        def durable(job_id: int) -> SendResult:
            return queue.result(queue.enqueue(SendRequest(job_id, bench.name, "bench", ""),
                                              bench.connection_id))

        durable(next(bench.jobs))  # warm: the queue
        yield durable
    finally:
        queue.close()
        runtime.stop(drain_seconds=2)


def run(latency_ms: float, args: argparse.Namespace) -> None:
    with bench_setup(latency_ms, 4 * args.sends + 1, args.database_url,
                     args.dbos_schema) as bench:
        sender, name, jobs = bench.sender, bench.name, bench.jobs
        direct = {"first": [], "re-send": []}  # type: dict[str, list[Sample]]
        for _ in range(args.sends):
            job_id = next(jobs)
            direct["first"].append(measure(partial(sender.send, job_id, name)))
            direct["re-send"].append(measure(partial(sender.send, job_id, name)))
        with durable_sends(bench) as durable:
            queued = {"first": [], "re-send": []}  # type: dict[str, list[Sample]]
            for _ in range(args.sends):
                job_id = next(jobs)
                queued["first"].append(measure(partial(durable, job_id)))
                queued["re-send"].append(measure(partial(durable, job_id)))
        count_round_trips([s for rows in (*direct.values(), *queued.values()) for s in rows],
                          bench.emulators, latency_ms)
    for path, samples in (("direct", direct), ("durable", queued)):
        for kind, rows in samples.items():
            walls = [s.wall_ms for s in rows]
            trips = statistics.median(s.round_trips for s in rows)
            requests = statistics.median(s.requests for s in rows)
            floor = FLOOR[kind] * latency_ms
            ratio = f"{statistics.median(walls) / floor:.2f}" if floor else "n/a"
            trips_text = f"{trips:g} ({FLOOR[kind]})" if latency_ms else f"- ({FLOOR[kind]})"
            print(f"| {path} | {latency_ms:g} | {kind} | {trips_text} | {requests:g} | "
                  f"{statistics.median(walls):.1f} / {percentile(walls, 0.95):.1f} | {ratio} | "
                  f"{statistics.median(s.cpu_ms for s in rows):.1f} |")


if __name__ == "__main__":
    main()
