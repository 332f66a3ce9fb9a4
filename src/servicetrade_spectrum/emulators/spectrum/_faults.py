"""Fault injection: make the next matching calls fail the ways live Spectrum servers fail.

A fault is armed for a service (or ``*``) and a number of calls, and each matching ``/ws``
call consumes one. Faults that fail the call answer before the service runs, so nothing is
stored (a server fault never half-applies); ``slow`` and ``truncate`` let the call run.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from servicetrade_spectrum.emulators.spectrum._responses import soap_fault

__all__ = ["CannedReply", "Fault", "FaultBook", "FaultKind", "canned_reply"]


class FaultKind(StrEnum):
    SERVER_FAULT = "server_fault"
    """``SOAP-ENV:Server`` "Error executing Web Service", HTTP 500 (seen under load)."""
    SERVER_FAULT_200 = "server_fault_200"
    """The same fault with HTTP 200: clients must read the body, not the status."""
    CLIENT_FAULT = "client_fault"
    """``SOAP-ENV:Client`` "Could not find WebService named: X", HTTP 500."""
    HTTP_503 = "http_503"
    HTTP_502 = "http_502"
    """A proxy in front of Spectrum answering with its own HTML page."""
    SLOW = "slow"
    """Wait ``delay`` seconds, then answer normally."""
    TRUNCATE = "truncate"
    """Answer normally, minus the end of the body (closing envelope tags cut off)."""
    UNAUTHORIZED_401 = "unauthorized_401"
    """HTTP 401 ``WWW-Authenticate: Bearer``, as when a token has expired."""


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    service: str = "*"
    count: int = 1
    delay: float = 0.0
    cut_bytes: int = 0

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        if self.count < 1 or self.delay < 0 or self.cut_bytes < 0:
            raise ValueError("count must be >= 1; delay and cut_bytes must be >= 0")

    @property
    def fails_call(self) -> bool:
        """Whether the call is answered without running (and so stores nothing)."""
        return self.kind not in (FaultKind.SLOW, FaultKind.TRUNCATE)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """Armed faults, consumed first-armed-first by matching calls; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [Fault(f.kind, f.service, f.count, f.delay, f.cut_bytes)
                    for f in self._faults]

    def take(self, service: str) -> Fault | None:
        """Consume one use of the first fault matching ``service``."""
        with self._lock:
            for fault in self._faults:
                if fault.service in ("*", service):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return Fault(fault.kind, fault.service, 1, fault.delay, fault.cut_bytes)
        return None


@dataclass(frozen=True, slots=True)
class CannedReply:
    """An HTTP answer a failing fault gives instead of running the service."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


_XML = "text/xml; charset=utf-8"
_PROXY_PAGE = ("<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
               "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
               "</body>\r\n</html>\r\n")


def canned_reply(fault: Fault, service: str) -> CannedReply:
    """The answer of a fault that fails the call (``fails_call``)."""
    if not fault.fails_call:
        raise ValueError(f"{fault.kind} lets the call run: it has no canned reply")
    if fault.kind in (FaultKind.SERVER_FAULT, FaultKind.SERVER_FAULT_200):
        status = 500 if fault.kind is FaultKind.SERVER_FAULT else 200
        return CannedReply(status, soap_fault("SOAP-ENV:Server", "Error executing Web Service"),
                           _XML)
    if fault.kind is FaultKind.CLIENT_FAULT:
        return CannedReply(500, soap_fault("SOAP-ENV:Client",
                                           f"Could not find WebService named: {service}"), _XML)
    if fault.kind is FaultKind.UNAUTHORIZED_401:
        return CannedReply(401, b"", "text/plain",
                           (("WWW-Authenticate", 'Bearer error="invalid_token"'),))
    code, reason = ((503, "Service Temporarily Unavailable") if fault.kind is FaultKind.HTTP_503
                    else (502, "Bad Gateway"))
    return CannedReply(code, _PROXY_PAGE.format(code=code, reason=reason).encode(),
                       "text/html")
