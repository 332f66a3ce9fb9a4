"""How long a queued send waits before a worker starts it, on an idle system.

Starts both emulators and one worker runtime in this process, then queues one send at a time
(idle in between) and measures enqueue -> the send's attempt being recorded (its first step
has then also read the job from ServiceTrade, so this is an upper bound of the wait), and
enqueue -> result as the caller sees it. (DBOS's own timestamps are whole seconds on SQLite.)

    .venv/bin/python bench/queue_start_latency.py [--sends 40] [--database-url URL]

Give PostgreSQL a scratch database: the run leaves its tables there.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.sync import ClientPool, SendRequest, SendService
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=40)
    parser.add_argument("--database-url", default=None,
                        help="default: SQLite in a temporary home")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    settings = Settings(home=home, database_url=args.database_url, dbos_schema=args.dbos_schema)
    spectrum, servicetrade = SpectrumEmulator.from_seed(), ServiceTradeEmulator.from_seed()
    job_ids = [job["id"] for job in servicetrade.dump()["jobs"][: args.sends]]
    with BackgroundServer(spectrum.app) as s_server, \
            BackgroundServer(servicetrade.app) as t_server:
        store = Store.open(settings)
        name = f"Bench-{int(time.time())}"
        store.add_account(name, f"{t_server.url}/api", auth_kind="session",
                          secret=seed.DEMO_PASSWORD, username=seed.DEMO_USERNAME)
        connection = store.add_connection(NewConnection(
            name=name, account=name, ws_url=f"{s_server.url}/ws", company_code="1",
            authorization_id=seed.DEMO_AUTHORIZATION_ID, prefix="B", work_order_type="SVC"))
        clients = ClientPool(settings)
        runtime = DurableRuntime(settings, store, SendService(store, clients),
                                 role="worker").start()
        queue = SendQueue(settings)
        queue.result(queue.enqueue(SendRequest(job_ids[0], name, "bench", ""), connection.id))
        waits, round_trips = [], []
        for job_id in job_ids[1:]:
            time.sleep(0.25)  # idle: nothing else queued or running
            started, enqueued_at = time.perf_counter(), time.time()
            handle = queue.enqueue(SendRequest(job_id, name, "bench", ""), connection.id)
            result = queue.result(handle)
            round_trips.append((time.perf_counter() - started) * 1000)
            assert result.attempt_id is not None
            attempt = store.attempt(result.attempt_id)
            waits.append((attempt.started_at.timestamp() - enqueued_at) * 1000)
        queue.close()
        runtime.stop()
        clients.close()
        store.close()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}, {len(waits)} sends, queue polling {settings.queue_polling_interval} s")
    print(f"  enqueued -> send started, job read (ms): p50 {statistics.median(waits):.0f}, "
          f"p95 {percentile(waits, 0.95):.0f}, max {max(waits):.0f}")
    print(f"  enqueue -> result as the caller sees it (ms): p50 "
          f"{statistics.median(round_trips):.0f}, p95 {percentile(round_trips, 0.95):.0f}")


if __name__ == "__main__":
    main()
