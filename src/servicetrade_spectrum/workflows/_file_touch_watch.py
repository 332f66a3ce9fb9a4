"""Being woken when a file is touched, by the kernel rather than by looking (Linux inotify).

On SQLite a process that queues a send says so by setting the modification time of a file
beside the database (``_queue_signal``). Looking at that time 20 times a second cost an idle
``serve`` about 6.5 ms of CPU a second, and a durable send at L = 50 ms paid for the looks
made while it waited on the network (issue 7). With inotify the kernel wakes a thread of
ours when the time is set, and nothing runs while nothing is queued.

The watch is on the file's folder, for attribute changes and arrivals of a file of that
name: the file may not exist yet, or be deleted and made again, and the watch still holds.
The database's own writes are modifications, not attribute changes, and are not reported.

The standard library has no inotify, so its three C functions are called through ctypes.
Where they are missing (not Linux) or fail (no folder, the per-user limit of watches
reached), :meth:`FileTouchWatch.start` returns None and the caller goes on looking.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from servicetrade_spectrum.logs import get_logger

__all__ = ["FileTouchWatch"]

_log = get_logger(__name__)

# From <sys/inotify.h>.
_IN_ATTRIB = 0x00000004
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_Q_OVERFLOW = 0x00004000
_IN_CLOEXEC = 0o2000000
_IN_NONBLOCK = 0o4000
_EVENT_HEADER = struct.Struct("iIII")
"""``struct inotify_event`` without its name: wd, mask, cookie, len."""
_READ_SIZE = 64 * 1024


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError):  # no C library by that name, or no inotify in it
        return None
    return libc


class FileTouchWatch:
    """Calls ``on_touched()`` on a thread of its own each time ``path``'s modification time
    is set (or the file is made), by any process, from :meth:`start` to :meth:`close`."""

    def __init__(self, path: Path, on_touched: Callable[[], None], fd: int) -> None:
        self._name = os.fsencode(path.name)
        self._on_touched = on_touched
        self._fd = fd
        self._wake_read, self._wake_write = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="st-spectrum-queued-watch",
                                        daemon=True)

    @classmethod
    def start(cls, path: Path, on_touched: Callable[[], None]) -> FileTouchWatch | None:
        """A running watch of ``path``, or None where inotify cannot watch its folder."""
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            _log.info("queue.watch_unavailable", path=str(path),
                      error=os.strerror(ctypes.get_errno()))
            return None
        folder = os.fsencode(path.parent)
        if libc.inotify_add_watch(fd, folder, _IN_ATTRIB | _IN_CREATE | _IN_MOVED_TO) < 0:
            error = os.strerror(ctypes.get_errno())
            os.close(fd)
            _log.info("queue.watch_unavailable", path=str(path), error=error)
            return None
        watch = cls(path, on_touched, fd)
        watch._thread.start()
        return watch

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while not self._closed:
            ready = {fd for fd, _ in poller.poll()}
            if self._closed or self._wake_read in ready:
                return
            try:
                events = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:  # read by nobody else, but poll may wake spuriously
                continue
            if self._touched(events):
                try:
                    self._on_touched()
                except Exception as exc:  # the caller's: the watch goes on
                    _log.warning("queue.watch_callback_failed",
                                 error=f"{type(exc).__name__}: {exc}")

    def _touched(self, events: bytes) -> bool:
        """Whether any of ``events`` is about our file (or may have been: an overflow)."""
        offset = 0
        while offset < len(events):
            _, mask, _, length = _EVENT_HEADER.unpack_from(events, offset)
            offset += _EVENT_HEADER.size
            name = events[offset:offset + length].rstrip(b"\0")
            offset += length
            if mask & _IN_Q_OVERFLOW or name == self._name:
                return True
        return False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.write(self._wake_write, b"x")
        self._thread.join(timeout=5)
        for fd in (self._fd, self._wake_read, self._wake_write):
            os.close(fd)
