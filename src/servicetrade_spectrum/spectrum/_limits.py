"""At most N calls in flight to one Spectrum server, per process.

Live servers answer "Error executing Web Service" under concurrent load, so every client
talking to the same server (scheme, host and port) shares one semaphore. The durable queue
adds the same limit across processes; this one protects a single process on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from urllib.parse import urlsplit

__all__ = ["Gate", "server_key", "server_slot"]

Gate = Callable[[str], AbstractContextManager[None]]
"""Holds a slot of the server of a Web Services URL while a call is out. The default is
:func:`server_slot` (this process); ``sync`` gives a gate shared by every process."""

_lock = threading.Lock()
_semaphores: dict[tuple[str, int], threading.BoundedSemaphore] = {}


def server_key(url: str) -> str:
    """The server a Web Services URL is on: scheme://host:port, lower case. Connections on
    the same server share its slots."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@contextmanager
def server_slot(url: str, limit: int) -> Iterator[None]:
    """Hold one of ``limit`` slots for the server of ``url`` while the block runs."""
    key = (server_key(url), limit)
    with _lock:
        semaphore = _semaphores.get(key)
        if semaphore is None:
            semaphore = _semaphores[key] = threading.BoundedSemaphore(limit)
    with semaphore:
        yield
