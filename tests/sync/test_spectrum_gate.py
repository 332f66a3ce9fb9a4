"""The Spectrum gate: at most N calls in flight per server across processes (two gates on
one database stand for two processes), a slot passed from call to call within a process, and
a crashed holder's slot taken over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.spectrum import server_key
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.store._models import SpectrumSlot
from servicetrade_spectrum.store._notices import SLOT_RELEASED_CHANNEL
from servicetrade_spectrum.sync import ClientPool
from servicetrade_spectrum.sync._spectrum_gate import SharedSpectrumGate

URL = "http://spectrum.example:8482/ws"
CONNECTION = "Main"  # the connection the `configured` fixture adds

GateMaker = Callable[..., SharedSpectrumGate]


@pytest.fixture
def make_gate(store: Store) -> Iterator[GateMaker]:
    """Gates on ``store``, closed after the test (on PostgreSQL a gate whose call waited
    listens for slots given back, on a connection of its own)."""
    made: list[SharedSpectrumGate] = []

    def make(limit: int, **kwargs: Any) -> SharedSpectrumGate:
        made.append(SharedSpectrumGate(store, limit, request_timeout=5, **kwargs))
        return made[-1]

    yield make
    for gate in made:
        gate.close()


def test_two_processes_never_have_more_than_the_limit_in_flight(make_gate: GateMaker) -> None:
    gates = [make_gate(3) for _ in range(2)]
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


def holders(store: Store) -> list[str]:
    """Who holds each of the server's slots in the database ("" for a free slot)."""
    with store.session() as session:
        return list(session.scalars(select(SpectrumSlot.holder)
                                    .where(SpectrumSlot.server == server_key(URL))
                                    .order_by(SpectrumSlot.slot)))


def calls_one_after_another(gate: SharedSpectrumGate, count: int) -> list[list[str]]:
    """``count`` calls through a one-slot gate, each queued while the one before is out;
    the database's slot holders as each call saw them."""
    seen: list[list[str]] = []
    queued = threading.Semaphore(0)

    def call(n: int) -> None:
        with gate.slot(URL):
            seen.append(holders(gate.store))
            if n + 1 < count:
                queued.acquire()  # the next call is waiting for the slot
                time.sleep(0.05)

    threads = []
    for n in range(count):
        threads.append(threading.Thread(target=call, args=(n,)))
        threads[-1].start()
        if n:
            queued.release()
    for thread in threads:
        thread.join(timeout=10)
    return seen


def test_a_waiting_call_of_the_same_process_gets_the_slot_without_a_database_write(
        store: Store) -> None:
    gate = SharedSpectrumGate(store, 1, request_timeout=5)
    seen = calls_one_after_another(gate, 3)
    assert len(seen) == 3
    assert seen[0][0] != ""
    assert seen == [seen[0]] * 3  # one holder all along: the slot was passed on
    assert holders(store) == [""]  # given back once nobody waited


def test_a_slot_goes_back_to_the_database_once_it_has_been_passed_on_long_enough(
        store: Store) -> None:
    gate = SharedSpectrumGate(store, 1, request_timeout=5, handoff_seconds=0.0)
    seen = calls_one_after_another(gate, 3)
    assert len({tuple(s) for s in seen}) == 3  # taken from the database by each call
    assert holders(store) == [""]


def test_a_process_passing_its_slot_on_still_lets_another_process_have_a_turn(
        store: Store, make_gate: GateMaker) -> None:
    busy = make_gate(1, handoff_seconds=0.1)
    other = make_gate(1)
    stop = threading.Event()

    def keep_calling() -> None:
        while not stop.is_set():
            with busy.slot(URL):
                time.sleep(0.01)

    callers = [threading.Thread(target=keep_calling) for _ in range(3)]
    for caller in callers:
        caller.start()
    try:
        time.sleep(0.05)
        started = time.monotonic()
        with other.slot(URL):
            waited = time.monotonic() - started
    finally:
        stop.set()
        for caller in callers:
            caller.join(timeout=10)
    # Measured: 0.05-0.2 s with the pause after giving back; 1.3-21 s without it.
    assert waited < 1.0, f"the other process waited {waited:.2f}s"
    assert holders(store) == [""]


def test_a_call_waiting_for_another_processs_slot_asks_again_as_soon_as_it_is_given_back(
        store: Store, make_gate: GateMaker) -> None:
    if store.engine.dialect.name != "postgresql":
        assert store.listen_for_released_slots(lambda server: None) is None
        pytest.skip("PostgreSQL only: SQLite has no notices, and one process sends there "
                    "(its slots pass from call to call in memory, tested above)")
    holder = make_gate(1)
    # Asks the database once, then would wait a minute before asking again.
    waiter = make_gate(1, first_wait=60.0, longest_wait=60.0)
    holding, waiting_done = threading.Event(), threading.Event()
    waited: list[float] = []

    def hold() -> None:
        with holder.slot(URL):
            holding.set()
            time.sleep(0.5)  # the waiter has asked and found the slot held

    def wait() -> None:
        holding.wait(10)
        started = time.monotonic()
        with waiter.slot(URL):
            waited.append(time.monotonic() - started)
        waiting_done.set()

    threads = [threading.Thread(target=hold), threading.Thread(target=wait)]
    for thread in threads:
        thread.start()
    assert waiting_done.wait(20), "the waiting call was not woken when the slot came free"
    for thread in threads:
        thread.join(10)
    assert 0.3 < waited[0] < 10  # it waited for the holder, not for its next look
    assert holders(store) == [""]


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


def _listeners() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"{SLOT_RELEASED_CHANNEL}-notices"]


def test_a_pool_sharing_slots_stops_its_gates_listener_when_it_closes(
        configured: Store, settings: Settings, spectrum_url: str) -> None:
    if configured.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no notices, so its gates never listen")
    before = _listeners()
    pool = ClientPool.sharing_spectrum_slots(settings, configured)
    client = pool.spectrum(configured.connection(CONNECTION))
    server = server_key(spectrum_url)
    # Another process holds every slot, so the pool's call waits and its gate listens.
    for slot in range(settings.spectrum_concurrency):
        assert configured.take_spectrum_slot(server, settings.spectrum_concurrency,
                                             f"other:{slot}", timedelta(minutes=1)) == slot
    answered = threading.Event()

    def call() -> None:
        client.work_order_header({"WO_Number": "T-LISTEN", "Bill_Customer_Code": "MERCYGEN",
                                  "WO_Job_Number": "S10002", "WO_Reference_Code": "S",
                                  "Summary_Description": "waits for a slot"})
        answered.set()

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 10
    while len(_listeners()) == len(before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_listeners()) == len(before) + 1, "the waiting call's gate did not listen"
    configured.release_spectrum_slot(server, 0, "other:0")
    assert answered.wait(10)
    caller.join(10)
    pool.close()
    assert _listeners() == before
