"""At most N calls in flight to one Spectrum server, across every process on the database.

Live servers answer "Error executing Web Service" under concurrent load, and several
``serve`` and ``worker`` processes may send to the same server at once. So each call takes
one of N slots stored in the database (``spectrum_slots``) for as long as its HTTP request
is out, and gives it back at once. Within a process, a semaphore lets at most N threads
compete, and a slot given back wakes this process's waiters straight away; a process waiting
for another process's slot looks again every few milliseconds.

Only the call holds a slot, not the whole send: reading the job, recording the attempt and
writing the work order number back happen outside it, so the server's N slots stay busy
with work order calls (issue 7's bulk benchmark: throughput against 3 / call time).
A process that dies mid-call holds its slot until the lease runs out (the Spectrum request
timeout plus half a minute). If the database cannot be reached, the call goes ahead under
this process's own limit and a warning is logged: a send never fails for want of a slot row.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.spectrum import server_key, server_slot
from servicetrade_spectrum.store import Store

__all__ = ["SharedSpectrumGate"]

_log = get_logger(__name__)

_FIRST_WAIT = 0.002
_LONGEST_WAIT = 0.02


class SharedSpectrumGate:
    def __init__(self, store: Store, limit: int, *, request_timeout: float) -> None:
        self.store = store
        self.limit = limit
        self.lease = timedelta(seconds=request_timeout + 30)
        self._process = f"{socket.gethostname()}:{os.getpid()}"
        self._released = threading.Condition()

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the server's slots while the block runs."""
        server = server_key(url)
        with server_slot(url, self.limit):
            holder = f"{self._process}:{uuid.uuid4().hex[:8]}"
            slot = self._take(server, holder)
            try:
                yield
            finally:
                if slot is not None:
                    self._give_back(server, slot, holder)

    def _take(self, server: str, holder: str) -> int | None:
        wait = _FIRST_WAIT
        while True:
            try:
                slot = self.store.take_spectrum_slot(server, self.limit, holder, self.lease)
            except SQLAlchemyError as exc:
                _log.warning("spectrum_gate.unavailable", server=server, error=str(exc))
                return None
            if slot is not None:
                return slot
            with self._released:
                self._released.wait(wait)
            wait = min(wait * 2, _LONGEST_WAIT)

    def _give_back(self, server: str, slot: int, holder: str) -> None:
        try:
            self.store.release_spectrum_slot(server, slot, holder)
        except SQLAlchemyError as exc:  # the lease frees it later
            _log.warning("spectrum_gate.release_failed", server=server, error=str(exc))
        with self._released:
            self._released.notify_all()
