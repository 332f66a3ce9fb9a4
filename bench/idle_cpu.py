"""What a running product costs while nothing happens: CPU of idle ``serve`` and workers.

A process that runs the send queue keeps a heartbeat, DBOS's internal threads and its looks
at the queue going while no send comes. This starts ``serve`` (and, on PostgreSQL, workers),
lets them settle, then reads their CPU time over a quiet spell.

    .venv/bin/python -m bench.idle_cpu [--seconds 20] [--database-url URL --workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._harness import machine, product_env, start_product
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.store import Store

SETTLE_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=0, help="st-spectrum worker processes")
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    settings = Settings(home=home, database_url=args.database_url, dbos_schema=args.dbos_schema)
    Store.open(settings).close()  # the schema, before the processes race to make it
    env = product_env(settings)
    processes = [start_product("serve", ["serve", "--port", "0"], env, "serving on")]
    processes += [start_product(f"worker {n + 1}", ["worker"], env, "running sends")
                  for n in range(args.workers)]
    try:
        time.sleep(SETTLE_SECONDS)
        before = [p.cpu_seconds() for p in processes]
        time.sleep(args.seconds)
        used = [p.cpu_seconds() - b for p, b in zip(processes, before, strict=True)]
    finally:
        for process in processes:
            process.stop()
    database = "PostgreSQL" if "postgresql" in settings.effective_database_url else "SQLite"
    print(f"machine: {machine()}")
    print("| database | process | quiet spell (s) | CPU (ms per s) | of a core |")
    print("|---|---|---|---|---|")
    for process, seconds in zip(processes, used, strict=True):
        per_second = seconds / args.seconds
        print(f"| {database} | {process.name} | {args.seconds:g} | {per_second * 1000:.1f} | "
              f"{per_second:.1%} |")


if __name__ == "__main__":
    main()
