"""Injected failures: make the emulator answer 429, 5xx, 401 or slowly, a given number of times.

Tests use them to prove the client's retry and re-login rules against real HTTP. A fault
matches on the API path below ``/api`` (``/job`` matches ``/api/job/123``) and optionally the
method, applies to the next ``count`` matching requests, then is gone.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "FaultPlan", "api_path"]

FaultKind = Literal["http_429", "http_500", "http_503", "http_401", "slow",
                    "http_500_after_apply"]
"""``http_500_after_apply`` does the work, then answers 500 (a write that did happen)."""
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


def api_path(path: str) -> str:
    """``/api/job/1`` -> ``/job/1``: faults and the request log speak API-relative paths."""
    if path == "/api" or path.startswith("/api/"):
        return path[4:] or "/"
    return path


@dataclass
class Fault:
    kind: str
    path_prefix: str = "/"
    method: str | None = None
    count: int = 1
    delay: float = 0.0
    """Seconds to wait first (``slow``), or the ``Retry-After`` of a ``http_429``."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The pending faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, kind: str, *, path_prefix: str = "/", method: str | None = None,
            count: int = 1, delay: float = 0.0) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("a fault applies to at least one request (count >= 1)")
        fault = Fault(kind, api_path(path_prefix) if path_prefix.startswith("/api") else
                      path_prefix, method.upper() if method else None, count, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request (one use of it), if any."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.method in (None, method):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
