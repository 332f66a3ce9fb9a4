"""Real processes for the durability tests: ``st-spectrum worker``, ``serve`` and ``send``.

Every process runs on the test's isolated database (``durable_settings``) against the two
emulators served by the test process; its output goes to a file under the test's tmp_path
(read by the test, shown when an assertion fails) and it is killed when the test ends.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, SendService
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue

ACCOUNT = "Northwind"
CONNECTION = "Main"
STARTUP_TIMEOUT = 30.0
"""Generous: two cores shared by the test process, the emulators and the subprocesses."""


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.05) -> float:
    """Poll until ``predicate()`` is truthy; return the seconds it took, fail after
    ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


def work_order_numbers(emulator: SpectrumEmulator) -> list[str]:
    """The WO_Number of every WorkOrderHeader call Spectrum received, in order."""
    return [m.group(1) for r in emulator.requests if r.service == "WorkOrderHeader"
            for m in [re.search(r"<WO_Number>([^<]*)</WO_Number>", r.body)] if m]


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("st-spectrum")
    return [str(script)] if script.exists() else [sys.executable, "-m", "servicetrade_spectrum"]


class Process:
    """One ``st-spectrum`` subprocess, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen([*cli_command(), *args], env=env, stdout=self._out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = STARTUP_TIMEOUT) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            if self.popen.poll() is not None:
                pytest.fail(f"st-spectrum {' '.join(self.args)} exited with "
                            f"{self.popen.returncode}:\n{self.output()}")
            match = re.search(pattern, self.output())
            if match:
                found.append(match)
            return match is not None

        wait_until(seen, timeout, f"{pattern!r} from st-spectrum {' '.join(self.args)}")
        return found[0]

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine loses power."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self._out.close()


class Processes:
    """Starts ``st-spectrum`` processes for one test; kills every one of them at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[Process] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> Process:
        log = self.logs / f"{len(self.started):02d}-{args[0]}.log"
        process = Process(list(args), {**self.env, **(env or {})}, log)
        self.started.append(process)
        return process

    def worker(self) -> Process:
        """A worker, once it is running sends."""
        process = self.start("worker")
        process.wait_for_output(r"running sends until stopped")
        return process

    def close(self) -> None:
        for process in self.started:
            process.close()

    def outputs(self) -> str:
        return "\n".join(f"--- st-spectrum {' '.join(p.args)} (pid {p.pid}):\n{p.output()}"
                         for p in self.started)


@pytest.fixture
def process_env(durable_settings: Settings,
                subprocess_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    """The shared subprocess environment on the test's isolated database. A ServiceTrade
    request is given up after 6 s, a Spectrum one after 10 s: longer than the slow answers the
    tests arrange."""
    return subprocess_env(durable_settings, ST_SPECTRUM_SERVICETRADE_TIMEOUT="6",
                          ST_SPECTRUM_SPECTRUM_TIMEOUT="10")


@pytest.fixture
def processes(process_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    started = Processes(process_env, tmp_path)
    try:
        yield started
    finally:
        started.close()
        # pytest shows this (under "Captured stdout teardown") only when the test failed.
        print(started.outputs())


@pytest.fixture
def send_queue(durable_settings: Settings) -> Iterator[SendQueue]:
    queue = SendQueue(durable_settings)
    yield queue
    queue.close()


@pytest.fixture
def quiet_runtime(durable_settings: Settings, durable_store: Store) -> Iterator[DurableRuntime]:
    """A runtime whose queue is looked at once at start, then not within a test: only the
    test's own claims take the sends it queues (and none is started, so none drains)."""
    quiet = durable_settings.model_copy(update={"queue_polling_interval": 30,
                                                 "queue_idle_polling_interval": 60})
    with started_runtime(quiet, durable_store, drain_seconds=0) as running:
        yield running


@contextmanager
def started_runtime(settings: Settings, store: Store, *,
                    drain_seconds: float) -> Iterator[DurableRuntime]:
    """A worker's runtime in this process, with clients of its own; stopped at the end,
    waiting up to ``drain_seconds`` for sends it runs."""
    clients = ClientPool(settings)
    running = DurableRuntime(settings, store, SendService(store, clients),
                             role="worker").start()
    try:
        yield running
    finally:
        running.stop(drain_seconds=drain_seconds)
        clients.close()
