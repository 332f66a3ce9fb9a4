"""The Spectrum gate: at most N calls in flight per server across processes (two gates on
one database stand for two processes), and a crashed holder's slot is taken over."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from servicetrade_spectrum.spectrum import server_key
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync._spectrum_gate import SharedSpectrumGate

URL = "http://spectrum.example:8482/ws"


def test_two_processes_never_have_more_than_the_limit_in_flight(store: Store) -> None:
    gates = [SharedSpectrumGate(store, 3, request_timeout=5) for _ in range(2)]
    lock = threading.Lock()
    in_flight = peak = done = 0

    def call(n: int) -> None:
        nonlocal in_flight, peak, done
        with gates[n % 2].slot(URL):
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.01)
            with lock:
                in_flight -= 1
                done += 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(call, range(60)))
    assert done == 60
    assert peak == 3  # the limit is reached, never passed


def test_the_slots_are_per_server_and_given_back(store: Store) -> None:
    gate = SharedSpectrumGate(store, 1, request_timeout=5)
    with gate.slot(URL), gate.slot("https://other.example/ws"):
        pass  # a second server has slots of its own: no wait
    with gate.slot(URL):
        pass  # the first server's slot was given back


def test_a_slot_whose_holder_died_is_taken_over_when_its_lease_runs_out(store: Store) -> None:
    server = server_key(URL)
    assert store.take_spectrum_slot(server, 1, "crashed:1", timedelta(seconds=-1)) == 0
    assert store.take_spectrum_slot(server, 1, "alive:2", timedelta(minutes=1)) == 0
    assert store.take_spectrum_slot(server, 1, "alive:3", timedelta(minutes=1)) is None
    store.release_spectrum_slot(server, 0, "crashed:1")  # too late: no longer its slot
    assert store.take_spectrum_slot(server, 1, "alive:3", timedelta(minutes=1)) is None
    store.release_spectrum_slot(server, 0, "alive:2")
    assert store.take_spectrum_slot(server, 1, "alive:3", timedelta(minutes=1)) == 0


def test_a_call_goes_ahead_under_the_process_limit_when_the_database_is_unreachable(
        store: Store, tmp_path: Path) -> None:
    from servicetrade_spectrum.store import create_database_engine

    unreachable = Store(create_database_engine(f"sqlite:///{tmp_path}/missing/dir/x.db"),
                        store.secrets)
    gate = SharedSpectrumGate(unreachable, 1, request_timeout=5)
    ran = []
    with gate.slot(URL):
        ran.append(True)
    assert ran == [True]
    unreachable.close()
