"""Webhook intake under a burst: 200 messages/s for 30 s from a separate process, at a real
``st-spectrum serve``; acknowledgement latency p50/p99, and nothing lost.

Each message is about one job (as ServiceTrade sends them); one job in ten has reached the
rule's status, so ``serve`` also reads jobs and sends work orders while the burst goes on.
The load comes from a child process on an open-loop schedule (a message every 5 ms whatever
the answers do), over up to 64 connections. "Nothing lost": every message acknowledged
with 200 and stored, and every one processed.

    .venv/bin/python -m bench.webhook_intake [--rate 200] [--seconds 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

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
from servicetrade_spectrum.store._models import SyncAttempt, WebhookMessage
from servicetrade_spectrum.sync import ClientPool, register_webhook


async def generate(hook_url: str, job_ids: list[int], rate: float, seconds: float
                   ) -> list[tuple[float, int]]:
    """POST one message every 1/rate s; return (latency s, status) of each.

    Latency runs from the message's scheduled time, so a generator that falls behind counts
    against the server, never hides its delays. The requests are written by hand on up to
    64 keep-alive connections: an HTTP client library costs about 1 ms of CPU a request,
    and at 200/s on 2 cores the generator itself then took a core (measured 2026-11-29)."""
    url = httpx.URL(hook_url)
    host, port, path = url.host, url.port or 80, url.raw_path.decode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: ").encode()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(64)
    results: list[tuple[float, int]] = []

    async def exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                       body: bytes) -> int:
        reader, writer = conn
        writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        return status

    async def post(job_id: int, scheduled: float) -> None:
        now = int(time.time())
        body = json.dumps({"messageId": str(uuid.uuid4()), "timestamp": now,
                           "data": [{"action": "updated", "timestamp": now, "userId": 41,
                                     "entity": {"type": "job", "id": job_id}}]}).encode()
        status = 0
        async with slots:
            # A kept-alive connection the server has closed meanwhile fails at once: try
            # again on a new one, as HTTP clients do.
            for reused in (bool(idle), False):
                try:
                    conn = idle.pop() if reused else await asyncio.open_connection(host, port)
                    status = await asyncio.wait_for(exchange(conn, body), 30)
                    idle.append(conn)
                    break
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    # OSError covers the time-out (TimeoutError) and a refused connection
                    if reused:
                        conn[1].close()
        results.append((time.perf_counter() - scheduled, status))

    count = int(rate * seconds)
    started = time.perf_counter()
    tasks = []
    for n in range(count):
        scheduled = started + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(job_ids[n % len(job_ids)], scheduled)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    parser.add_argument("--no-rule", action="store_true",
                        help="no automation rule: measure the intake alone")
    parser.add_argument("--worker-niceness", type=int, default=0,
                        help="with --split: run the worker under nice -n N")
    parser.add_argument("--split", action="store_true",
                        help="serve --web-only, with the sends and automation in a worker")
    parser.add_argument("--generate", nargs=2, metavar=("HOOK_URL", "JOB_IDS_FILE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:  # the child process: only the load
        job_ids = json.loads(Path(args.generate[1]).read_text())
        results = asyncio.run(generate(args.generate[0], job_ids, args.rate, args.seconds))
        print(json.dumps(results))
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    messages = int(args.rate * args.seconds)
    state, job_ids = big_servicetrade_state(messages)
    completed = set(job_ids[::10])
    for job in state["jobs"]:
        if job["id"] in job_ids:
            job["status"] = "completed" if job["id"] in completed else "scheduled"
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    settings = Settings(home=home, database_url=args.database_url, dbos_schema=args.dbos_schema)
    with started_emulator("spectrum") as spectrum, \
            started_emulator("servicetrade", state=state) as servicetrade:
        store = Store.open(settings)
        name = add_bench_connection(store, servicetrade, spectrum)
        if not args.no_rule:
            store.add_rule(name, Trigger.ON_STATUS, "completed")
        env = product_env(settings)
        server = start_product("serve", ["serve", "--port", "0", *(
            ["--web-only"] if args.split else [])], env, "serving on")
        helpers = ([start_product("worker", ["worker", "--automation"], env, "running sends",
                                  niceness=args.worker_niceness)]
                   if args.split else [])
        try:
            base = server.banner.split("serving on ")[1].split(" ")[0]
            clients = ClientPool(settings)
            hook_url = register_webhook(store, clients, name, base).hook_url
            clients.close()
            ids_file = home / "job-ids.json"
            ids_file.write_text(json.dumps(job_ids))
            load = subprocess.run(
                [sys.executable, "-m", "bench.webhook_intake", "--rate", str(args.rate),
                 "--seconds", str(args.seconds), "--generate", hook_url, str(ids_file)],
                capture_output=True, text=True, check=True)
            results: list[tuple[float, int]] = json.loads(load.stdout)
            server.sample()
            processed_after = wait_processed(store, messages)
        finally:
            server.stop()
            for helper in helpers:
                helper.stop()
        sends = count_sends(store)
        store.close()
    latencies_ms = [latency * 1000 for latency, _ in results]
    statuses = {status for _, status in results}
    database = "PostgreSQL" if "postgresql" in settings.effective_database_url else "SQLite"
    print(f"machine: {machine()}")
    print("| database | messages | ack p50 / p99 / max (ms) | statuses | stored | all processed "
          "after the burst | sends |")
    print("|---|---|---|---|---|---|---|")
    layout = "serve --web-only + worker --automation" if args.split else "serve"
    print(f"| {database}, {layout} | {len(results)} at {args.rate:g}/s | "
          f"{percentile(latencies_ms, 0.5):.1f} / {percentile(latencies_ms, 0.99):.1f} / "
          f"{max(latencies_ms):.1f} | {sorted(statuses)} | {processed_after[0]} | "
          f"{processed_after[1]:.1f} s | {sends} |")


def wait_processed(store: Store, expected: int, timeout: float = 300) -> tuple[int, float]:
    """(messages stored, seconds until all were processed)."""
    started = time.monotonic()
    stored = 0
    while time.monotonic() - started < timeout:
        with store.session() as session:
            stored = session.scalar(select(func.count()).select_from(WebhookMessage)) or 0
            waiting = session.scalar(select(func.count()).select_from(WebhookMessage).where(
                WebhookMessage.processed_at.is_(None))) or 0
        if stored >= expected and waiting == 0:
            break
        time.sleep(0.5)
    return stored, time.monotonic() - started


def count_sends(store: Store) -> dict[str, Any]:
    with store.session() as session:
        rows = session.execute(select(SyncAttempt.status, func.count())
                               .group_by(SyncAttempt.status)).all()
    return {status: count for status, count in rows}


if __name__ == "__main__":
    main()
