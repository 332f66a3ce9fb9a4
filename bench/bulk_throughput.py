"""Bulk: 10,000 jobs through the durable queue at connection concurrency 3, every Spectrum
answer delayed by L = 50 ms; throughput against the bound, and memory.

The bound is the physical one: with at most 3 calls in flight at one Spectrum server, no
integration can send faster than 3 / (one WorkOrderHeader call's time). The call's time is
measured first, alone, at the same L. Then ``bulk-send`` (a process of its own) queues every
job and follows them, while ``serve`` (SQLite) or ``serve`` and 2 workers (PostgreSQL) do
the sends. Throughput is read off the Spectrum emulator's log; memory off /proc every second.

    .venv/bin/python -m bench.bulk_throughput [--jobs 10000] [--latency-ms 50]
        [--database-url URL --workers 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench._harness import (
    ProductProcess,
    add_bench_connection,
    big_servicetrade_state,
    cli,
    machine,
    product_env,
    start_product,
    started_emulator,
)
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.spectrum import SpectrumClient
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.store._models import SyncAttempt

CONCURRENCY = 3


def call_time(ws_url: str, samples: int = 20) -> float:
    """Median seconds of one WorkOrderHeader call, alone."""
    client = SpectrumClient(ws_url, company_code=seed.DEMO_COMPANY_CODE,
                            authorization_id=seed.DEMO_AUTHORIZATION_ID)
    times = []
    try:
        for n in range(samples):
            started = time.perf_counter()
            client.work_order_header({"WO_Number": f"C{n}", "Bill_Customer_Code": "MERCYGEN",
                                      "WO_Job_Number": "S10002", "WO_Reference_Code": "S",
                                      "Summary_Description": "call time"})
            times.append(time.perf_counter() - started)
    finally:
        client.close()
    return statistics.median(times[2:])


def finished(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(SyncAttempt).where(
            SyncAttempt.status != "running")) or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=0, help="st-spectrum worker processes")
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    args = parser.parse_args()
    state, job_ids = big_servicetrade_state(args.jobs)
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    settings = Settings(home=home, database_url=args.database_url, dbos_schema=args.dbos_schema)
    with started_emulator("spectrum", latency_ms=args.latency_ms) as spectrum, \
            started_emulator("servicetrade", state=state) as servicetrade:
        one_call = call_time(spectrum.api)
        store = Store.open(settings)
        name = add_bench_connection(store, servicetrade, spectrum)
        env = product_env(settings, ST_SPECTRUM_SPECTRUM_CONCURRENCY=str(CONCURRENCY))
        processes = [start_product("serve", ["serve", "--port", "0"], env, "serving on")]
        processes += [start_product(f"worker {n + 1}", ["worker"], env, "running sends")
                      for n in range(args.workers)]
        httpx.delete(f"{spectrum.url}/_emulator/stats", timeout=10)
        ids_file = home / "job-ids.txt"
        ids_file.write_text("\n".join(map(str, job_ids)) + "\n")
        try:
            cpu_before = [p.cpu_seconds() for p in processes]
            progress = run_bulk(env, name, ids_file, store, processes, args.jobs)
            cpu_used = [p.cpu_seconds() - b for p, b in zip(processes, cpu_before, strict=True)]
        finally:
            for process in processes:
                process.stop()
        stats = httpx.get(f"{spectrum.url}/_emulator/stats", timeout=10).json()
        calls = sorted(datetime.fromisoformat(r["received_at"]).timestamp()
                       for r in httpx.get(f"{spectrum.url}/_emulator/requests", timeout=120).json()
                       if r["service"] == "WorkOrderHeader"
                       and "<WO_Number>B" in r["body"])  # the bulk's, not the probe's
        store.close()
    span = calls[-1] + args.latency_ms / 1000 - calls[0]
    throughput = len(calls) / span
    bound = CONCURRENCY / one_call
    database = "PostgreSQL" if "postgresql" in settings.effective_database_url else "SQLite"
    print(f"machine: {machine()}")
    print(f"one WorkOrderHeader call at L = {args.latency_ms:g} ms: {one_call * 1000:.1f} ms; "
          f"bound = {CONCURRENCY} / call = {bound:.1f} sends/s; peak in flight at Spectrum: "
          f"{stats['max_in_flight']}")
    # Of the bound = calls in flight on average / 3 x the call's time alone / under load: tells
    # slots left idle between our calls from the emulator answering slower on a busy machine.
    held = stats["handled_seconds"] / max(stats["handled"], 1)
    print(f"at Spectrum during the run: {stats['handled']} calls, {held * 1000:.1f} ms each "
          f"on average (alone {one_call * 1000:.1f} ms), "
          f"{stats['handled_seconds'] / span:.2f} of {CONCURRENCY} in flight on average")
    print("of the bound in each tenth of the run (a run slowing down as the tables grow): "
          + " ".join(f"{share:.0%}" for share in by_tenth(calls, bound)))
    print("| database | process | jobs | time (s) | sends/s | of the bound | CPU (s) "
          "| peak RSS (MB) | RSS at 10% / 50% / 100% of the jobs (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for process, cpu in zip(processes, cpu_used, strict=True):
        at = progress[process.name]
        print(f"| {database} | {process.name} (of {len(processes)}) | {len(calls)} | "
              f"{span:.0f} | {throughput:.1f} | {throughput / bound:.0%} | {cpu:.0f} | "
              f"{process.peak_rss_mb:.0f} | {at[0]:.0f} / {at[1]:.0f} / {at[2]:.0f} |")


def by_tenth(calls: list[float], bound: float) -> list[float]:
    """Throughput against the bound over each tenth of the calls, in order."""
    shares = []
    for tenth in range(10):
        first, last = len(calls) * tenth // 10, len(calls) * (tenth + 1) // 10 - 1
        if last > first and calls[last] > calls[first]:
            shares.append((last - first) / (calls[last] - calls[first]) / bound)
    return shares


def run_bulk(env: dict[str, str], connection: str, ids_file: Path, store: Store,
             processes: list[ProductProcess], jobs: int) -> dict[str, list[float]]:
    """Run ``bulk-send`` to its end, sampling memory; RSS of each process at 10/50/100%."""
    bulk = subprocess.Popen([*cli(), "bulk-send", "--connection", connection, "--job-ids",
                             str(ids_file), "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    marks = [0.1, 0.5, 1.0]
    at: dict[str, list[float]] = {p.name: [] for p in processes}
    while True:
        done = finished(store)
        for process in processes:
            rss = process.sample()
            taken = at[process.name]
            while len(taken) < len(marks) and done >= marks[len(taken)] * jobs:
                taken.append(rss)
        if bulk.poll() is not None and done >= jobs:
            break
        time.sleep(1)
    summary = json.loads(bulk.communicate()[0] or "{}")
    print(f"bulk-send: {summary if len(str(summary)) < 300 else str(summary)[:300]}")
    return at


if __name__ == "__main__":
    main()
