"""The automation worker of ``serve``: process webhook messages as they arrive, sweep
periodically, and queue the sends the rules ask for."""

from __future__ import annotations

import threading
import time

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.servicetrade import ServiceTradeError
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import Automation, ClientPool, SendRequest
from servicetrade_spectrum.workflows._runtime import SendQueue

__all__ = ["AutomationLoop"]

_log = get_logger(__name__)
IDLE_RECHECK_SECONDS = 5.0
"""Also look for unprocessed messages this often: another process may have accepted them."""
WORKER_RECHECK_SECONDS = 0.1
"""In a worker (``worker --automation``) no webhook wakes the loop: the web app that accepts
them is another process. It looks for new messages this often (one indexed query)."""


class AutomationLoop:
    def __init__(self, settings: Settings, store: Store, clients: ClientPool,
                 queue: SendQueue, *, recheck_seconds: float = IDLE_RECHECK_SECONDS) -> None:
        self._settings = settings
        self._recheck = recheck_seconds
        self._store = store
        self._queue = queue
        self.automation = Automation(store, clients, self._enqueue)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="st-spectrum-automation",
                                        daemon=True)
        self._next_sweep = 0.0

    def _enqueue(self, request: SendRequest) -> None:
        connection = self._store.connection(request.connection)
        self._queue.enqueue(request, connection.id)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> AutomationLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._recheck)
            self._wake.clear()
            try:
                while self.automation.process_webhooks() and not self._stop.is_set():
                    pass
                if time.monotonic() >= self._next_sweep:
                    self._next_sweep = time.monotonic() + self._settings.sweep_minutes * 60
                    for account in self._store.accounts():
                        self.automation.sweep(account.id)
            except (ServiceTradeError, OSError) as exc:
                _log.warning("automation.pass_failed", error=str(exc))
            except Exception as exc:  # keep the loop alive; the next pass retries
                _log.error("automation.pass_crashed", error=repr(exc))
