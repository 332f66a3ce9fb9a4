"""The history page and its API with 1,000,000 attempt rows: p95 over 100 requests.

Fills a fresh database with attempts (two accounts; the measured one has two connections,
a mix of outcomes, failure kinds and dates over a year), starts a real ``st-spectrum serve``
on it, signs in through the form, and asks for the history with filters: none, by outcome,
by failure kind, by connection, by job, by date range, and pages deep into the list (cursor).
The same filters go through ``/api/v1/attempts`` with a personal token.

    .venv/bin/python -m bench.history_at_scale [--rows 1000000] [--database-url URL]

Give PostgreSQL a scratch database: the run creates its tables in a schema of its own and
drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bench._harness import machine, percentile, start_product
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain import FailureKind
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.store._models import SyncAttempt

PASSWORD = "bench password, long enough"
EMAIL = "bench@northwind.example"
BATCH = 20_000
KINDS = [k.value for k in FailureKind]


def fill(store: Store, rows: int) -> dict[str, Any]:
    """Insert ``rows`` attempts; return what the requests filter on."""
    mine = store.add_account("Bench", "http://127.0.0.1:9/api", auth_kind="session",
                             secret="x", username="u")
    other = store.add_account("Other", "http://127.0.0.1:9/api", auth_kind="session",
                              secret="x", username="u")
    connections = [store.add_connection(NewConnection(
        name=name, account=account, ws_url="http://127.0.0.1:9/ws", company_code="1",
        authorization_id="secret")) for name, account in
        (("Main", "Bench"), ("Second", "Bench"), ("Theirs", "Other"))]
    rng = random.Random(7)
    start = datetime(2025, 11, 1, tzinfo=UTC)
    job_ids = [3_100_000_000_000_000 + n * 37 for n in range(20_000)]
    with store.engine.begin() as connection:
        for first in range(0, rows, BATCH):
            batch = []
            for n in range(first, min(rows, first + BATCH)):
                owner = connections[0 if n % 10 < 6 else 1 if n % 10 < 9 else 2]
                failed = rng.random() < 0.2
                started = start + timedelta(seconds=n * 31_536_000 // rows)
                job = rng.choice(job_ids)
                batch.append({
                    "account_id": mine.id if owner.name != "Theirs" else other.id,
                    "connection_id": owner.id, "job_id": job, "job_number": str(job % 100_000),
                    "trigger": "rule", "triggered_by": "on status 'completed'",
                    "status": "failed" if failed else "sent", "started_at": started,
                    "finished_at": started + timedelta(milliseconds=180), "duration_ms": 180,
                    "work_order_number": "" if failed else f"T{job % 100_000}",
                    "failure_kind": rng.choice(KINDS) if failed else "",
                    "failure_message": "A message." if failed else "",
                    "failure_fix": "A fix." if failed else "", "spectrum_message": "",
                    "fields": {"WO_Number": f"T{job % 100_000}"}, "source_fields": {},
                    "warnings": [], "spectrum_rows": [], "request_body": "<soap/>",
                    "response_body": "<soap/>", "http_status": 200, "tries": 1,
                    "external_id_written": not failed, "comment_posted": failed,
                    "comment_text": "", "run_id": None, "stage": ""})
            connection.execute(insert(SyncAttempt), batch)
    return {"job_id": job_ids[123], "connection": "Second", "kind": KINDS[0]}


def queries(facts: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {}, {"status": "failed"}, {"failure_kind": facts["kind"]},
        {"connection": facts["connection"]}, {"job_id": str(facts["job_id"])},
        {"from": "2026-03-01", "to": "2026-03-31"},
        {"status": "failed", "connection": facts["connection"], "from": "2026-01-01"},
        {"status": "sent", "to": "2025-12-01"},
    ]


def timed(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = client.get(url, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed, answer


def measure(client: httpx.Client, url: str, facts: dict[str, Any], cursor_name: str,
            next_cursor: Any, requests: int) -> list[float]:
    """``requests`` GETs cycling through the filters; every third follows a cursor deeper.
    The slowest request of each filter is printed, to find a slow one."""
    latencies: list[float] = []
    slowest: dict[str, float] = {}
    filters = queries(facts)
    cursor: dict[str, str] = {}
    for n in range(requests):
        params = dict(filters[n % len(filters)])
        if n % 3 == 2 and cursor:
            params.update(cursor)
        elapsed, answer = timed(client, url, params)
        latencies.append(elapsed)
        key = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != cursor_name)
        slowest[key or "(no filter)"] = max(slowest.get(key or "(no filter)", 0.0), elapsed)
        found = next_cursor(answer)
        cursor = {cursor_name: str(found)} if found else {}
    print(f"slowest by filter at {url}: " + "; ".join(
        f"{key} {ms:.0f} ms" for key, ms in sorted(slowest.items(), key=lambda kv: -kv[1])[:4]))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="default: SQLite, temporary")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="st-spectrum-bench-"))
    url, schema = args.database_url, ""
    if url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}
                                               ).render_as_string(hide_password=False)
    settings = Settings(home=home, database_url=url, dbos_schema=f"{schema or 'dbos'}_dbos")
    try:
        run(settings, args)
    finally:
        if schema:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE'))


def run(settings: Settings, args: argparse.Namespace) -> None:
    store = Store.open(settings)
    started = time.perf_counter()
    facts = fill(store, args.rows)
    filled = time.perf_counter() - started
    user = store.users.add(EMAIL, account_id=store.account("Bench").id, password=PASSWORD)
    token = store.users.create_token(user.id, "bench")
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE sync_attempts"))
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ST_SPECTRUM_")}
    env.update({"ST_SPECTRUM_HOME": str(settings.home),
                "ST_SPECTRUM_DATABASE_URL": settings.effective_database_url,
                "ST_SPECTRUM_DBOS_SCHEMA": settings.dbos_schema,
                "ST_SPECTRUM_LOG_LEVEL": "WARNING"})
    server = start_product("serve", ["serve", "--port", "0"], env, "serving on")
    try:
        base = _first(r"(http://127\.0\.0\.1:\d+)", server.banner)
        with httpx.Client(base_url=base, timeout=60) as page:
            form = page.get("/login")
            csrf = _first(r'name="csrf_token" value="([^"]+)"', form.text)
            page.post("/login", data={"email": EMAIL, "password": PASSWORD,
                                      "csrf_token": csrf})
            page_ms = measure(page, "/history", facts, "before",
                              lambda a: _older_link(a.text), args.requests)
        with httpx.Client(base_url=base, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as api:
            api_ms = measure(api, "/api/v1/attempts", facts, "cursor",
                             lambda a: a.json().get("next_cursor"), args.requests)
    finally:
        server.stop()
    database = "PostgreSQL" if "postgresql" in settings.effective_database_url else "SQLite"
    print(f"machine: {machine()}; {args.rows:,} rows filled in {filled:.0f} s")
    print("| database | what | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|")
    for what, values in (("/history page", page_ms), ("/api/v1/attempts", api_ms)):
        print(f"| {database} | {what} | {percentile(values, 0.5):.1f} | "
              f"{percentile(values, 0.95):.1f} | {max(values):.1f} |")


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"{pattern!r} not found")
    return found.group(1)


def _older_link(html: str) -> str | None:
    found = re.search(r'[?&]before=(\d+)', html)
    return found.group(1) if found else None


if __name__ == "__main__":
    main()
