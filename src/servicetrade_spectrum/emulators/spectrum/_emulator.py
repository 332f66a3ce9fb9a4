"""The emulator object: state, settings, faults, tokens and the record of calls, in one place.

Tests hold a :class:`SpectrumEmulator`, serve its ``app`` on a real port, and look inside it
from their own thread (work orders stored, requests received, the concurrency peak), so
everything here is guarded by locks.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.spectrum._app import build_app
from servicetrade_spectrum.emulators.spectrum._auth import TokenIssuer
from servicetrade_spectrum.emulators.spectrum._faults import Fault, FaultBook, FaultKind
from servicetrade_spectrum.emulators.spectrum._requests import sniff_value
from servicetrade_spectrum.emulators.spectrum._services import SUCCESS_STYLES
from servicetrade_spectrum.emulators.spectrum._state import Record, SpectrumState

__all__ = ["EmulatorSettings", "RecordedRequest", "SpectrumEmulator"]


@dataclass(slots=True)
class EmulatorSettings:
    """What may change while the emulator runs (from a test or ``POST /_emulator/settings``)."""

    success_style: str = "info_row"
    """How WorkOrderHeader and the add services say "done": see ``SUCCESS_STYLES``."""
    latency_ms: float = 0.0
    """Added before every ``/ws`` and token answer."""
    enhanced_auth: bool = False
    """Require a Bearer token from ``/connect/token`` on every ``/ws`` call."""
    token_lifetime: int = 3600
    """Seconds a newly issued token lives (``expires_in``)."""

    def __post_init__(self) -> None:
        self.update({})

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` after checking them all: a bad value changes nothing."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        merged = {**asdict(self), **changes}
        if merged["success_style"] not in SUCCESS_STYLES:
            raise ValueError(f"success_style must be one of {', '.join(SUCCESS_STYLES)}")
        latency, lifetime = float(merged["latency_ms"]), int(merged["token_lifetime"])
        if latency < 0 or lifetime < 1:
            raise ValueError("latency_ms must be >= 0 and token_lifetime >= 1")
        if not isinstance(merged["enhanced_auth"], bool):
            raise ValueError("enhanced_auth must be true or false")
        self.success_style = str(merged["success_style"])
        self.latency_ms, self.token_lifetime = latency, lifetime
        self.enhanced_auth = merged["enhanced_auth"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP call as received, before any answer (faulted calls included)."""

    service: str
    """The ``/ws/{service}`` name, or ``connect/token`` / ``secretRotation``."""
    method: str
    path: str
    headers: dict[str, str]
    """Lower-case names."""
    body: str
    guid: str
    authorization_id: str
    received_at: datetime
    fault: str = ""
    """The injected fault kind this call consumed, '' when none."""


@dataclass(slots=True)
class _InFlight:
    current: int = 0
    peak: int = 0
    handled: int = 0
    """``/ws`` calls finished since the last reset."""
    seconds: float = 0.0
    """Their time in the emulator added up: a benchmark divides it by its run's span for the
    calls in flight on average, and by ``handled`` for a call's time under its load."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class SpectrumEmulator:
    """An emulated Spectrum server; ``state`` is in the seed format (``None`` = the seed)."""

    def __init__(self, state: Mapping[str, Any] | None = None, *, enhanced_auth: bool = False,
                 latency_ms: float = 0.0, success_style: str = "info_row",
                 token_lifetime: int = 3600) -> None:
        self.state = SpectrumState(dict(state) if state is not None else seed.spectrum_state())
        self.settings = EmulatorSettings(success_style, latency_ms, enhanced_auth,
                                         token_lifetime)
        self.faults = FaultBook()
        self.tokens = TokenIssuer(self.state)
        self._record_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._token_requests: list[RecordedRequest] = []
        self._in_flight = _InFlight()
        self.app: Starlette = build_app(self)

    @classmethod
    def from_seed(cls, **kwargs: Any) -> SpectrumEmulator:
        return cls(seed.spectrum_state(), **kwargs)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> SpectrumEmulator:
        return cls(SpectrumState.from_file(path).to_dict(), **kwargs)

    # --- looking inside ----------------------------------------------------------------------
    def work_order(self, company_code: str, wo_number: str) -> dict[str, str] | None:
        with self.state.lock:
            record = self.state.work_orders.get((company_code, wo_number))
            return dict(record) if record is not None else None

    def work_orders(self) -> list[dict[str, str]]:
        with self.state.lock:
            return [dict(r) for r in self.state.work_orders.values()]

    def customers(self, company_code: str | None = None) -> list[Record]:
        """Customers (every company, or one), each with ``Company_Code`` and ``Status``."""
        with self.state.lock:
            return [dict(r) for (c, _), r in self.state.customers.items()
                    if company_code is None or c == company_code]

    def sites(self, company_code: str | None = None) -> list[Record]:
        """Work order sites, each with ``Company_Code``, ``Site_ID`` and ``Status``."""
        with self.state.lock:
            return [dict(r) for (c, _), r in self.state.sites.items()
                    if company_code is None or c == company_code]

    def dump(self) -> dict[str, Any]:
        """The current state in the seed format (what ``--data FILE`` reads)."""
        return self.state.to_dict()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every ``/ws`` call received, oldest first."""
        with self._record_lock:
            return list(self._requests)

    @property
    def token_requests(self) -> list[RecordedRequest]:
        """Calls to ``/connect/token`` and ``/secretRotation`` (``client_secret`` masked)."""
        with self._record_lock:
            return list(self._token_requests)

    @property
    def max_in_flight(self) -> int:
        """The most ``/ws`` calls ever handled at once (since the last reset)."""
        with self._in_flight.lock:
            return self._in_flight.peak

    @property
    def in_flight(self) -> int:
        with self._in_flight.lock:
            return self._in_flight.current

    @property
    def handled(self) -> tuple[int, float]:
        """``/ws`` calls finished since the last reset, and their seconds added up."""
        with self._in_flight.lock:
            return self._in_flight.handled, self._in_flight.seconds

    # --- steering ----------------------------------------------------------------------------
    def inject(self, kind: str, *, service: str = "*", count: int = 1, delay: float = 0.0,
               cut_bytes: int = 0) -> None:
        """Make the next ``count`` calls of ``service`` (``*`` = any) fail as ``kind``."""
        self.faults.arm(Fault(FaultKind(kind), service, count, delay, cut_bytes))

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset_stats(self) -> None:
        """Start the peak and the handled calls' count and time afresh."""
        with self._in_flight.lock:
            self._in_flight.peak = self._in_flight.current
            self._in_flight.handled, self._in_flight.seconds = 0, 0.0

    def expire_tokens(self) -> None:
        """Invalidate every Bearer token issued so far (the next call gets 401)."""
        self.tokens.expire_all()

    # --- used by the HTTP layer --------------------------------------------------------------
    def record(self, service: str, method: str, path: str, headers: Mapping[str, str],
               body: bytes, fault: str = "") -> None:
        """Keep one received call; token calls go to ``token_requests``, secret masked."""
        text = body.decode("utf-8", "replace")
        is_token = service in ("connect/token", "secretRotation")
        if is_token:
            text = re.sub(r"(client_secret=)[^&]*", r"\1***", text)
        request = RecordedRequest(
            service=service, method=method, path=path,
            headers={name.lower(): value for name, value in headers.items()}, body=text,
            guid="" if is_token else sniff_value(body, "GUID"),
            authorization_id="" if is_token else sniff_value(body, "Authorization_ID"),
            received_at=datetime.now(UTC), fault=fault)
        with self._record_lock:
            (self._token_requests if is_token else self._requests).append(request)

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Count one ``/ws`` call in flight while the block runs, and time it."""
        with self._in_flight.lock:
            self._in_flight.current += 1
            self._in_flight.peak = max(self._in_flight.peak, self._in_flight.current)
        started = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - started
            with self._in_flight.lock:
                self._in_flight.current -= 1
                self._in_flight.handled += 1
                self._in_flight.seconds += took

