"""What the benchmarks share: emulators in processes of their own, the product's processes,
round trips read off the emulators' logs, memory read off /proc, and the machine's name.

Emulators run in their own processes so that the CPU time a benchmark reads of its own
process (or of ``serve``) is the product's, not the emulators'.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.store import NewConnection, Store

__all__ = [
    "Emulator",
    "ProductProcess",
    "add_bench_connection",
    "big_servicetrade_state",
    "cli",
    "machine",
    "percentile",
    "product_env",
    "round_trips",
    "rss_mb",
    "start_product",
    "started_emulator",
]

_URL = re.compile(r"(http://127\.0\.0\.1:\d+)")


def cli() -> list[str]:
    script = Path(sys.executable).with_name("st-spectrum")
    return [str(script)] if script.exists() else [sys.executable, "-m", "servicetrade_spectrum"]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine() -> str:
    cores = os.cpu_count()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cores} cores, {memory_gib:.0f} GiB, {platform.platform(terse=True)}, "
            f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"speed probe {speed_probe():.2f} s")


def speed_probe() -> float:
    """Seconds for a fixed pure-Python loop (best of 3): this virtual machine's speed drifts
    by several times over a day, so every table says how fast the machine was."""
    def once() -> float:
        started = time.perf_counter()
        total = 0
        for n in range(10_000_000):
            total += n
        return time.perf_counter() - started
    return min(once() for _ in range(3))


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (``VmHWM``: its peak so far)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Emulator:
    kind: str  # spectrum | servicetrade
    process: subprocess.Popen[str]
    url: str  # the server's root, without /ws or /api

    @property
    def api(self) -> str:
        return f"{self.url}/ws" if self.kind == "spectrum" else f"{self.url}/api"

    def requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.url}/_emulator/requests",
                                                 timeout=60).json()
        return answer

    def request_times(self, since: float = 0.0) -> list[float]:
        """When each request arrived (Unix seconds), from the emulator's log."""
        if self.kind == "spectrum":
            times = [datetime.fromisoformat(r["received_at"]).timestamp()
                     for r in self.requests()]
        else:
            times = [float(r["time"]) for r in self.requests()]
        return [t for t in times if t >= since]

    def set_latency(self, latency_ms: float) -> None:
        if self.kind == "spectrum":
            httpx.post(f"{self.url}/_emulator/settings", json={"latency_ms": latency_ms},
                       timeout=10).raise_for_status()
        else:
            httpx.put(f"{self.url}/_emulator/settings", json={"latency_ms": latency_ms},
                      timeout=10).raise_for_status()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def started_emulator(kind: str, *, latency_ms: float = 0.0,
                     state: dict[str, Any] | None = None) -> Iterator[Emulator]:
    args = [*cli(), "emulate", kind, "--port", "0", "--latency-ms", str(latency_ms)]
    data_file = None
    if state is not None:
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
        with handle:
            json.dump(state, handle)
        data_file = Path(handle.name)
        args += ["--data", str(data_file)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    assert process.stdout is not None
    url = ""
    while not url:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {kind} emulator did not start")
        found = _URL.search(line)
        url = found.group(1) if found else ""
    emulator = Emulator(kind, process, url)
    try:
        yield emulator
    finally:
        emulator.stop()
        if data_file is not None:
            data_file.unlink()


def round_trips(times: Sequence[float], latency_s: float) -> int:
    """Sequential round trips in a log of request arrival times, with every answer delayed
    by ``latency_s``: a request that arrives before the previous wave's answers could have
    come back was sent alongside it, so it is the same round trip."""
    waves = 0
    wave_start = -1e18
    for moment in sorted(times):
        if moment >= wave_start + latency_s * 0.8:
            waves += 1
            wave_start = moment
    return waves


def big_servicetrade_state(jobs: int, *, first_number: int = 200_000) -> tuple[
        dict[str, Any], list[int]]:
    """The seed plus ``jobs`` sendable jobs (copies of a fully mapped one): state and their
    IDs."""
    state = copy.deepcopy(seed.servicetrade_state())
    template = next(j for j in state["jobs"] if j["id"] == seed.notable_jobs().ready)
    base_id = max(j["id"] for j in state["jobs"]) + 1000
    ids = []
    for n in range(jobs):
        job = copy.deepcopy(template)
        job["id"] = base_id + n
        job["number"] = first_number + n
        job["externalIds"] = {}
        state["jobs"].append(job)
        ids.append(job["id"])
    return state, ids


@dataclass
class ProductProcess:
    """``st-spectrum serve`` or ``worker``, with its memory sampled while it runs."""

    name: str
    process: subprocess.Popen[str]
    banner: str = ""
    """The line that said it was ready."""
    peak_rss_mb: float = 0.0
    samples: list[tuple[float, float]] | None = None

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def sample(self) -> float:
        rss = rss_mb(self.process.pid)
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        if self.samples is None:
            self.samples = []
        self.samples.append((time.monotonic(), rss))
        return rss

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_product(name: str, args: Sequence[str], env: dict[str, str],
                  ready: str, *, niceness: int = 0) -> ProductProcess:
    """Start ``st-spectrum ARGS`` (at lower CPU priority when ``niceness`` > 0) and wait for
    ``ready`` on its stdout."""
    nice = ["nice", "-n", str(niceness)] if niceness else []
    process = subprocess.Popen([*nice, *cli(), *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{name} exited before it was ready")
        if ready in line:
            return ProductProcess(name, process, banner=line)
    raise RuntimeError(f"{name} was not ready within 60 s")


def add_bench_connection(store: Store, servicetrade: Emulator, spectrum: Emulator) -> str:
    """A fresh account and connection (same name) at the two emulators; return the name."""
    name = f"Bench-{int(time.time() * 1000)}"
    store.add_account(name, servicetrade.api, auth_kind="session", secret=seed.DEMO_PASSWORD,
                      username=seed.DEMO_USERNAME)
    store.add_connection(NewConnection(
        name=name, account=name, ws_url=spectrum.api, company_code="1",
        authorization_id=seed.DEMO_AUTHORIZATION_ID, prefix="B", work_order_type="SVC"))
    return name


def product_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an ``st-spectrum`` process on ``settings``' home and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ST_SPECTRUM_")}
    env.update({"ST_SPECTRUM_HOME": str(settings.home),
                "ST_SPECTRUM_DATABASE_URL": settings.effective_database_url,
                "ST_SPECTRUM_DBOS_SCHEMA": settings.dbos_schema,
                "ST_SPECTRUM_LOG_LEVEL": "WARNING", **extra})
    return env
