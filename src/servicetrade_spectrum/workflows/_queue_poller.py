"""Looking for queued sends: often while some are queued, seldom while none are.

DBOS's queue thread looks at a queue every polling interval, queued sends or not, and a look
at our partitioned queue is several transactions. An idle ``serve`` on SQLite spent 52 ms of
CPU a second on it (issue 7: 20 looks a second, 2.6 ms each), and a durable send at
L = 50 ms paid for the looks made while it waited on the network. So this process looks at
the send queue itself (DBOS's thread keeps its own internal queues):

- at every tick (``interval``) while the last look found sends queued: a full partition
  has room again as soon as a send ends, here or in another process. Those ticks claim in
  the partitions the last look found, without listing the queue's partitions again: with
  thousands of sends queued that listing cost PostgreSQL 9 ms of CPU a look, 60 looks a
  second across three processes (issue 7's bulk benchmark). They are listed again when told,
  and at least every ``idle_interval``;
- as soon as it is told that a send was queued anywhere (``_queue_signal``: at once on
  PostgreSQL and on SQLite under Linux, at the next tick on SQLite elsewhere). Where the
  signal wakes it, it does not tick at all while none are queued (20 wake-ups a second
  were 3 ms of an idle process's CPU a second on PostgreSQL, 6.5 ms on SQLite);
- otherwise once every ``idle_interval``: the fallback for a signal lost and for the sends
  of a dead process, put back in the queue by recovery.

A look claims what DBOS's own look would (``_claim_now.claim_queued``). A single send queued
where sends run on SQLite does not wait for a look at all (``_claim_now``).
"""

from __future__ import annotations

import random
import threading
import time

from dbos import Queue
from sqlalchemy import Engine

from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.workflows._claim_now import claim_queued, queued_partitions
from servicetrade_spectrum.workflows._queue_signal import SendQueuedWatch

__all__ = ["QueuePoller", "tell_here"]

_log = get_logger(__name__)

_running_here: QueuePoller | None = None
"""The poller of this process, while one runs."""


def tell_here() -> None:
    """A send was queued: tell this process's poller, if it runs one, without waiting for
    the signal to come round (on PostgreSQL a notice sent before its listener has connected
    would be lost)."""
    poller = _running_here
    if poller is not None:
        poller.tell()


class QueuePoller:
    """This process's looks at ``queue``, on a thread of its own, from :meth:`start` to
    :meth:`stop`."""

    def __init__(self, queue: Queue, *, interval: float, idle_interval: float,
                 database_url: str, engine: Engine) -> None:
        self.queue = queue
        self.interval = interval
        self.idle_interval = idle_interval
        self.looks = 0
        """Looks made so far (each one a few transactions)."""
        self.ticks = 0
        """Times the thread woke so far, to look or not."""
        self._database_url = database_url
        self._engine = engine
        self._told = threading.Event()
        self._stop = threading.Event()
        self._watch: SendQueuedWatch | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> QueuePoller:
        global _running_here
        self._watch = SendQueuedWatch(self._database_url, self._engine, self.tell)
        self._thread = threading.Thread(target=self._run, name="st-spectrum-queue",
                                        daemon=True)
        self._thread.start()
        _running_here = self
        return self

    def tell(self) -> None:
        """A send was queued: look now."""
        self._told.set()

    def _run(self) -> None:
        assert self._watch is not None
        # Partitions that may hold queued sends, as of the last look; None: list them first
        # (at start, sends may have been queued while nobody ran the queue).
        queued: list[str] | None = None
        listed_at = 0.0
        while not self._stop.is_set():
            self.ticks += 1
            told = self._told.is_set() or (not self._watch.pushes and self._watch.look())
            if told or time.monotonic() - listed_at >= self.idle_interval:
                queued = None
            if queued is None or queued:
                self._told.clear()
                if queued is None:
                    listed_at = time.monotonic()
                queued = self._look(queued)
            # Jitter, as DBOS's own thread: processes started together do not look together.
            wait = self.interval * random.uniform(0.95, 1.05)
            if queued == [] and self._watch.pushes:
                # Nothing queued, and a send queued anywhere wakes us: no tick until the
                # idle look.
                wait = max(wait, listed_at + self.idle_interval - time.monotonic())
            self._told.wait(wait)

    def _look(self, partitions: list[str] | None) -> list[str] | None:
        """Claim what ``partitions`` (None: every partition with queued sends) have room for;
        return the partitions that may still hold queued sends (None: list them again)."""
        self.looks += 1
        try:
            if partitions is None:
                partitions = queued_partitions(self.queue)
            return claim_queued(self.queue, partitions)
        except Exception as exc:  # a database blip: look again at the next tick
            if not self._stop.is_set():
                _log.warning("queue.look_failed", queue=self.queue.name,
                             error=f"{type(exc).__name__}: {exc}")
            return None

    def stop(self) -> None:
        global _running_here
        if _running_here is self:
            _running_here = None
        self._stop.set()
        self._told.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._watch is not None:
            self._watch.close()
