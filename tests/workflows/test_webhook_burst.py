"""A burst of ServiceTrade webhook messages at a real ``st-spectrum serve``.

ServiceTrade waits 5 s for an answer and re-delivers (then drops) what is not acknowledged,
so every POST must be answered quickly however many arrive at once, a re-delivered
``messageId`` must be acknowledged and ignored, and the rules must then send exactly the
jobs they ask for, each once.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain.rules import Trigger
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, register_webhook

from .conftest import ACCOUNT, CONNECTION, Processes, wait_until

POSTS = 500
THREADS = 8
JOBS = 100
ACK_LIMIT = 5.0
"""ServiceTrade's own time-out for a delivery."""


def message(job_ids: list[int]) -> dict[str, Any]:
    now = int(time.time())
    return {"messageId": str(uuid.uuid4()), "timestamp": now,
            "data": [{"action": "updated", "timestamp": now, "userId": 41,
                      "entity": {"type": "job", "id": job_id}} for job_id in job_ids]}


def burst(job_ids: list[int], completed: set[int]) -> list[dict[str, Any]]:
    """One message per job, some messages about several jobs that are not completed, and
    re-deliveries of earlier messages in between: ``POSTS`` in all."""
    rng = random.Random(7)
    others = sorted(set(job_ids) - completed)
    fresh = [message([job_id]) for job_id in job_ids]
    fresh += [message(rng.sample(others, 3)) for _ in range(20)]
    rng.shuffle(fresh)
    posts: list[dict[str, Any]] = []
    redeliveries = POSTS - len(fresh)
    for index, item in enumerate(fresh):
        posts.append(item)
        for _ in range(redeliveries * (index + 1) // len(fresh)
                       - redeliveries * index // len(fresh)):
            posts.append(rng.choice(posts))
    assert len(posts) == POSTS
    return posts


def test_a_burst_of_500_webhook_posts_is_acknowledged_fast_and_sends_each_job_once(
        durable_store: Store, durable_settings: Settings, processes: Processes,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    job_ids = [job["id"] for job in seed.servicetrade_state()["jobs"][:JOBS]]
    completed = set(job_ids[::2])
    for job_id in job_ids:  # before the webhook exists: the emulator delivers nothing
        servicetrade_emulator.update_job(
            job_id, status="completed" if job_id in completed else "scheduled")
    durable_store.add_rule(CONNECTION, Trigger.ON_STATUS, "completed")

    server = processes.start("serve", "--port", "0")
    # The port up to the space after it: the line may still be half written when first read.
    port = server.wait_for_output(r"serving on http://127\.0\.0\.1:(\d+) ").group(1)
    clients = ClientPool(durable_settings)
    try:
        hook_url = register_webhook(durable_store, clients, ACCOUNT,
                                    f"http://127.0.0.1:{port}").hook_url
    finally:
        clients.close()

    posts = burst(job_ids, completed)
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.monotonic()

    def post_all(share: list[dict[str, Any]]) -> None:
        with httpx.Client(timeout=30) as http:
            for body in share:
                sent = time.monotonic()
                status = http.post(hook_url, json=body).status_code
                latencies.append(time.monotonic() - sent)
                statuses.append(status)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(post_all, [posts[i::THREADS] for i in range(THREADS)]))
    posted = time.monotonic() - started

    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    summary = (f"{POSTS} posts in {posted:.1f}s, ack p50 {p50 * 1000:.0f} ms, "
               f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")
    print(f"webhook burst: {summary}")
    assert len(statuses) == POSTS
    assert all(200 <= s < 300 for s in statuses), sorted(set(statuses))
    assert ordered[-1] < ACK_LIMIT, summary
    unique = len({p["messageId"] for p in posts})
    assert statuses.count(200) == unique  # every re-delivery acknowledged as a duplicate

    def done() -> bool:
        if durable_store.unprocessed_webhook_messages(1):
            return False
        attempts = durable_store.history(limit=10 * JOBS)
        return all(a.status != "running" for a in attempts) and len(
            {a.job_id for a in attempts}) >= len(completed)

    took = wait_until(done, 60, "every message processed and every send finished",
                      interval=0.5)
    print(f"webhook burst: the rules' sends finished {took:.1f}s after the burst")
    time.sleep(1.0)  # anything queued late would show up now
    attempts = durable_store.history(limit=10 * JOBS)
    assert {a.job_id for a in attempts} == completed
    assert len(attempts) == len(completed), sorted(a.job_id for a in attempts)
    assert {a.status for a in attempts} <= {"sent", "failed"}
    assert all(a.trigger == "rule" for a in attempts)
