"""Sends that finished in this process, for callers in this process that wait on them.

A caller waiting for a durable send (a click on the Send menu, ``POST /api/v1/jobs/{id}/send``
with ``wait``, a CLI send) otherwise learns of its end by polling the database, on average
half a polling interval late and at a query per poll. When the send ran in the same process
(``serve`` sending what its own web app queued), the workflow hands its result over here as
it returns, and the waiter wakes at once. Sends that ran in another process are still found
by polling: this is a shortcut, never the only way.

The result handed over is the one the workflow returns; DBOS records it a few milliseconds
later. A crash in between changes nothing: the recovered workflow finds the send's attempt
finished and returns the same result. Until the record is written the job's deduplication
ID is still taken, so a new send of the job queued in that moment would be joined to the one
that ended: ``SendQueue.enqueue`` notices (:func:`ended_here`) and queues again once it is
recorded.

While a send runs here (:func:`running_here`), its waiter need not look in the database
often: the send's end wakes it, whether it returns or raises.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from servicetrade_spectrum.sync import SendResult

__all__ = ["ended_here", "finished", "running_here", "runs_here", "wait_here"]

_KEPT = 1000
"""Results kept for waiters that start waiting after the send ended (a send faster than the
caller's next look): enough for a burst, small enough to forget."""

_lock = threading.Lock()
_results: OrderedDict[str, SendResult] = OrderedDict()
_waiting: dict[str, threading.Event] = {}
_running: set[str] = set()


@contextmanager
def running_here(workflow_id: str) -> Iterator[None]:
    """The send ``workflow_id`` runs in this process while the block runs; its end, however
    it ends, wakes whoever waits for it."""
    with _lock:
        _running.add(workflow_id)
    try:
        yield
    finally:
        with _lock:
            _running.discard(workflow_id)
            event = _waiting.get(workflow_id)
        if event is not None:
            event.set()


def runs_here(workflow_id: str) -> bool:
    """Is the send ``workflow_id`` running in this process now?"""
    with _lock:
        return workflow_id in _running


def finished(workflow_id: str, result: SendResult) -> None:
    """The send ``workflow_id`` ended here with ``result``: wake whoever waits for it."""
    with _lock:
        _results[workflow_id] = result
        if len(_results) > _KEPT:
            _results.popitem(last=False)
        event = _waiting.get(workflow_id)
    if event is not None:
        event.set()


def wait_here(workflow_id: str, timeout: float) -> SendResult | None:
    """The send's result if it ends in this process within ``timeout`` seconds, else None."""
    with _lock:
        result = _results.get(workflow_id)
        if result is not None:
            return result
        event = _waiting.setdefault(workflow_id, threading.Event())
    try:
        event.wait(timeout)
    finally:
        with _lock:
            _waiting.pop(workflow_id, None)
    with _lock:
        return _results.get(workflow_id)


def ended_here(workflow_id: str) -> bool:
    """Did the send ``workflow_id`` end in this process lately?"""
    with _lock:
        return workflow_id in _results
