"""Many sends back to back in one process: CPU per send, in total and per thread.

``bench.single_send`` reports medians of a few dozen sends each, which a virtual machine's
drift moves by a millisecond or two between runs of one build. This runs hundreds of first
sends back to back, direct or durable (the runtime in this process, as ``serve`` runs it),
and divides what the process spent (all its threads) by their number; the runtime runs for
both paths, so they differ only in the send. Run two builds in turn to compare them.

Per thread, it reads ``/proc/self/task`` (Linux): the thread that queues and waits, the
ones that send, the ServiceTrade reading threads, the runtime's own.

    .venv/bin/python -m bench.send_loop [--path durable|direct] [--sends 400]
        [--latency-ms 0] [--database-url URL]
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from bench._harness import machine
from bench.single_send import bench_setup, durable_sends
from servicetrade_spectrum.logs import configure_logging
from servicetrade_spectrum.sync import SendResult

_MS_PER_CLOCK_TICK = 10
"""``/proc``'s CPU times are in clock ticks (``getconf CLK_TCK``: 100 a second)."""


def thread_cpu_ms() -> dict[str, float]:
    """CPU used so far by each of this process's threads, by thread name (ms)."""
    used = {}
    for thread in threading.enumerate():
        stat = Path(f"/proc/self/task/{thread.native_id}/stat")
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        used[thread.name] = (int(fields[11]) + int(fields[12])) * _MS_PER_CLOCK_TICK
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=["durable", "direct"], default="durable")
    parser.add_argument("--sends", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    print(f"machine: {machine()}")
    with bench_setup(args.latency_ms, args.sends + 2, args.database_url,
                     args.dbos_schema) as bench:
        def direct(job_id: int) -> SendResult:
            return bench.sender.send(job_id, bench.name)

        with durable_sends(bench) as durable:
            send = durable if args.path == "durable" else direct
            threads_before = thread_cpu_ms()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.sends):
                result = send(next(bench.jobs))
                assert result.status == "sent", result
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            threads_after = thread_cpu_ms()
    print(f"{args.path}, {args.sends} first sends at L = {args.latency_ms:g} ms: "
          f"CPU {cpu * 1000 / args.sends:.2f} ms a send, wall {wall * 1000 / args.sends:.2f} ms")
    print("| thread | CPU a send (ms) |")
    print("|---|---|")
    spent = {name: used - threads_before.get(name, 0.0)
             for name, used in threads_after.items()}
    for name, used in sorted(spent.items(), key=lambda item: -item[1]):
        if used:
            print(f"| {name} | {used / args.sends:.2f} |")


if __name__ == "__main__":
    main()
