"""At most N calls in flight to one Spectrum server, across every process on the database.

Live servers answer "Error executing Web Service" under concurrent load, and several
``serve`` and ``worker`` processes may send to the same server at once. So each call holds
one of N slots stored in the database (``spectrum_slots``) for as long as its HTTP request
is out. Within a process (one gate), a semaphore lets at most N calls compete.

A call that ends while another call of the same process waits passes its slot straight on,
with no database write in between: taking and giving back a slot were two write transactions
on the path from one call to the next, about a tenth of a call's time in a bulk run (issue
7's bulk benchmark: throughput against 3 / call time). A slot is passed on for at most
``HANDOFF_SECONDS`` after it was taken from the database; then it goes back there, and this
process's next call waits one poll before asking for it again, so that a process polling for
a slot gets its turn. A process waiting for another process's slot looks again every few
milliseconds, up to 20 ms. On PostgreSQL it is also told of every slot given back and looks
at once (``store._notices``); its own looks then back off to 100 ms, a fallback only.

Only the call holds a slot, not the whole send: reading the job, recording the attempt and
writing the work order number back happen outside it, so the server's N slots stay busy
with work order calls. A process that dies mid-call holds its slot until the lease runs out
(the Spectrum request timeout plus half a minute). If the database cannot be reached, the
call goes ahead under this process's own limit and a warning is logged: a send never fails
for want of a slot row.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.spectrum import server_key
from servicetrade_spectrum.store import NoticeListener, Store

__all__ = ["HANDOFF_SECONDS", "SharedSpectrumGate"]

_log = get_logger(__name__)

_FIRST_WAIT = 0.002
_LONGEST_WAIT = 0.02
_LONGEST_WAIT_TOLD = 0.1
HANDOFF_SECONDS = 1.0
"""How long a slot taken from the database may pass from call to call within a process
before it goes back to the database, where every process has its chance at it."""


@dataclass(frozen=True)
class _Held:
    """A slot this process holds in the database."""

    slot: int
    holder: str
    taken_at: float


@dataclass
class _Server:
    """This gate's calls to one server."""

    calls: threading.BoundedSemaphore
    waiting: int = 0
    """Calls that have asked for a slot and hold none yet."""
    spare: list[_Held] = field(default_factory=list)
    """Slots a finished call left for a waiting one, still held in the database."""
    others_turn_until: float = 0.0
    """After a slot went back to the database, this process asks for one only from then."""
    released: int = 0
    """Notices that a process gave one of the server's slots back to the database."""


class SharedSpectrumGate:
    def __init__(self, store: Store, limit: int, *, request_timeout: float,
                 handoff_seconds: float = HANDOFF_SECONDS, first_wait: float = _FIRST_WAIT,
                 longest_wait: float = _LONGEST_WAIT) -> None:
        """``first_wait`` and ``longest_wait``: how long a call waiting for another
        process's slot waits before it asks the database again, at first and at most."""
        self.store = store
        self.limit = limit
        self.lease = timedelta(seconds=request_timeout + 30)
        self.handoff_seconds = handoff_seconds
        self.first_wait = first_wait
        self.longest_wait = longest_wait
        self._process = f"{socket.gethostname()}:{os.getpid()}"
        self._changed = threading.Condition()
        self._servers: dict[str, _Server] = {}
        self._listener: NoticeListener | None = None
        self._listening = False

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the server's slots while the block runs."""
        server = server_key(url)
        state = self._server(server)
        with self._changed:
            state.waiting += 1
        waiting = True
        try:
            with state.calls:
                held = self._take(server, state)
                with self._changed:
                    state.waiting -= 1
                waiting = False
                try:
                    yield
                finally:
                    if held is not None:
                        self._give_back(server, state, held)
        finally:
            if waiting:
                with self._changed:
                    state.waiting -= 1
            self._release_unwanted_spares(server, state)

    def _server(self, server: str) -> _Server:
        with self._changed:
            state = self._servers.get(server)
            if state is None:
                state = self._servers[server] = _Server(threading.BoundedSemaphore(self.limit))
            return state

    def _take(self, server: str, state: _Server) -> _Held | None:
        wait = self.first_wait
        while True:
            with self._changed:
                # One look at each spare's age: judged twice, a slot turning stale in between
                # could be both handed on and given back.
                kept: list[_Held] = []
                stale: list[_Held] = []
                for held in state.spare:
                    (kept if self._fresh(held) else stale).append(held)
                state.spare = kept
                spare = state.spare.pop() if state.spare else None
                others_turn = state.others_turn_until - time.monotonic()
                seen = state.released
            self._release(server, stale)
            if spare is not None:
                return spare
            if others_turn > 0:
                with self._changed:
                    self._changed.wait(others_turn)
                continue
            holder = f"{self._process}:{uuid.uuid4().hex[:8]}"
            try:
                slot = self.store.take_spectrum_slot(server, self.limit, holder, self.lease)
            except SQLAlchemyError as exc:
                _log.warning("spectrum_gate.unavailable", server=server, error=str(exc))
                return None
            if slot is not None:
                return _Held(slot, holder, time.monotonic())
            self._listen()
            with self._changed:
                if state.released == seen:  # else a slot came free since: ask again now
                    self._changed.wait(wait)
            # Told of every slot given back, a call asks again at once; its own looks are
            # then only the fallback (a notice lost, a dead holder's lease run out).
            told = self._listener is not None and self._listener.listening
            longest = max(self.longest_wait, _LONGEST_WAIT_TOLD) if told else self.longest_wait
            wait = min(wait * 2, longest)

    def _listen(self) -> None:
        """Start listening for slots given back, the first time a call has to wait."""
        with self._changed:
            if self._listening:
                return
            self._listening = True
        self._listener = self.store.listen_for_released_slots(self._slot_released)

    def _slot_released(self, server: str) -> None:
        with self._changed:
            state = self._servers.get(server)
            if state is not None:
                state.released += 1
                self._changed.notify_all()

    def close(self) -> None:
        """Stop listening for slots given back (calls still in flight finish as usual)."""
        with self._changed:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _give_back(self, server: str, state: _Server, held: _Held) -> None:
        """Pass the slot to a call of this process that waits for one, or give it back to
        the database."""
        with self._changed:
            if state.waiting > 0:
                if self._fresh(held):
                    state.spare.append(held)
                    self._changed.notify_all()
                    return
                # Passed on for long enough: another process polling for a slot looks
                # again within self.longest_wait, so ours wait that long before asking.
                state.others_turn_until = time.monotonic() + self.longest_wait
        self._release(server, [held])

    def _release_unwanted_spares(self, server: str, state: _Server) -> None:
        """Spares no call of this process waits for any more go back to the database (a call
        that found the database's slots first leaves a spare behind)."""
        with self._changed:
            unwanted = state.spare if state.waiting <= 0 else []
            if unwanted:
                state.spare = []
        self._release(server, unwanted)

    def _release(self, server: str, slots: list[_Held]) -> None:
        for held in slots:
            try:
                self.store.release_spectrum_slot(server, held.slot, held.holder)
            except SQLAlchemyError as exc:  # the lease frees it later
                _log.warning("spectrum_gate.release_failed", server=server, error=str(exc))
        if slots:
            with self._changed:
                self._changed.notify_all()

    def _fresh(self, held: _Held) -> bool:
        return time.monotonic() - held.taken_at < self.handoff_seconds
