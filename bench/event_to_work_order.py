"""From a job change in ServiceTrade to the work order in Spectrum: p50 and p95 over 500
events, every emulator answer delayed by L = 50 ms.

A real ``st-spectrum serve`` with an "on status completed" rule and its webhook registered at
the ServiceTrade emulator. Each event marks one job completed in the emulator, which delivers
the webhook to ``serve`` at once (as ServiceTrade does, without its own queueing delay);
``serve`` stores it, reads the job, queues the send, and the send creates the work order.
"Work order exists" is when Spectrum answered the WorkOrderHeader call that created it
(its arrival in the Spectrum emulator's log, plus L). Events come at a steady pace.

    .venv/bin/python -m bench.event_to_work_order [--events 500] [--per-second 10]
        [--latency-ms 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench._harness import (
    add_bench_connection,
    big_servicetrade_state,
    machine,
    percentile,
    product_env,
    start_product,
    started_emulator,
)
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain.rules import Trigger
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, register_webhook

_WO_NUMBER = re.compile(r"<WO_Number>([^<]+)</WO_Number>")
FIRST_NUMBER = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--per-second", type=float, default=10)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    args = parser.parse_args()
    state, job_ids = big_servicetrade_state(args.events, first_number=FIRST_NUMBER)
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    settings = Settings(home=home, database_url=args.database_url, dbos_schema=args.dbos_schema)
    with started_emulator("spectrum", latency_ms=args.latency_ms) as spectrum, \
            started_emulator("servicetrade", latency_ms=args.latency_ms,
                             state=state) as servicetrade:
        store = Store.open(settings)
        name = add_bench_connection(store, servicetrade, spectrum)
        store.add_rule(name, Trigger.ON_STATUS, "completed")
        env = product_env(settings)
        server = start_product("serve", ["serve", "--port", "0"], env, "serving on")
        try:
            base = server.banner.split("serving on ")[1].split(" ")[0]
            clients = ClientPool(settings)
            register_webhook(store, clients, name, base)
            clients.close()
            changed_at = change_jobs(servicetrade.url, job_ids, args.per_second)
            created_at = wait_for_work_orders(spectrum.url, len(job_ids), args.latency_ms)
        finally:
            server.stop()
        store.close()
    delays = [(created_at[FIRST_NUMBER + n] - changed_at[job_id]) * 1000
              for n, job_id in enumerate(job_ids) if FIRST_NUMBER + n in created_at]
    database = "PostgreSQL" if "postgresql" in settings.effective_database_url else "SQLite"
    print(f"machine: {machine()}")
    print("| database | L (ms) | events | work orders | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {database} | {args.latency_ms:g} | {len(job_ids)} at {args.per_second:g}/s | "
          f"{len(delays)} | {percentile(delays, 0.5):.0f} | {percentile(delays, 0.95):.0f} | "
          f"{max(delays):.0f} |")


def change_jobs(servicetrade_url: str, job_ids: list[int], per_second: float
                ) -> dict[int, float]:
    """Mark each job completed at a steady pace; when each change was made (Unix s)."""
    changed: dict[int, float] = {}
    started = time.perf_counter()
    with httpx.Client(timeout=30) as http:
        for n, job_id in enumerate(job_ids):
            delay = started + n / per_second - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            changed[job_id] = time.time()
            http.put(f"{servicetrade_url}/_emulator/jobs/{job_id}",
                     json={"status": "completed"}).raise_for_status()
    return changed


def wait_for_work_orders(spectrum_url: str, expected: int, latency_ms: float,
                         timeout: float = 120) -> dict[int, float]:
    """Job number -> when Spectrum answered the call that created its work order."""
    deadline = time.monotonic() + timeout
    created: dict[int, float] = {}
    while time.monotonic() < deadline:
        created = {}
        for request in httpx.get(f"{spectrum_url}/_emulator/requests", timeout=60).json():
            found = _WO_NUMBER.search(request["body"])
            if request["service"] == "WorkOrderHeader" and found:
                number = int(found.group(1).lstrip("B"))
                answered = (datetime.fromisoformat(request["received_at"]).timestamp()
                            + latency_ms / 1000)
                created.setdefault(number, answered)
        if len(created) >= expected:
            break
        time.sleep(1)
    return created


if __name__ == "__main__":
    main()
