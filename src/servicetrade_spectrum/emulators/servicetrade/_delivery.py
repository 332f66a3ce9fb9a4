"""Delivering webhook messages to registered hook URLs, the way ServiceTrade does.

One background thread posts each message to its hook URL (5 s timeout). Any 2xx-4xx answer
counts as delivered; a 5xx, a timeout or a refused connection is tried again, and after
``attempts`` failures the message is dropped for good. Every outcome is recorded, so tests
can see what was delivered and what was lost.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["WebhookDelivery", "WebhookDispatcher"]


@dataclass
class WebhookDelivery:
    """One message to one hook: what was sent and how each try went."""

    hook_id: int
    hook_url: str
    message: dict[str, Any]
    outcomes: list[str] = field(default_factory=list)
    """``"200"``, ``"503"``, ``"ConnectError"``...: one per try."""
    delivered: bool = False
    dropped: bool = False

    @property
    def message_id(self) -> str:
        return str(self.message.get("messageId"))


class WebhookDispatcher:
    def __init__(self, *, attempts: int = 3, retry_delay: float = 0.2,
                 timeout: float = 5.0) -> None:
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.deliveries: list[WebhookDelivery] = []
        self._queue: queue.Queue[WebhookDelivery | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def send(self, hook: dict[str, Any], message: dict[str, Any]) -> WebhookDelivery:
        delivery = WebhookDelivery(hook["id"], hook["hookUrl"], message)
        with self._lock:
            self.deliveries.append(delivery)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="st-emulator-webhooks",
                                                daemon=True)
                self._thread.start()
        self._queue.put(delivery)
        return delivery

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until every queued message is delivered or dropped; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(d.delivered or d.dropped for d in self.deliveries):
                    return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            while (delivery := self._queue.get()) is not None:
                self._deliver(http, delivery)

    def _deliver(self, http: httpx.Client, delivery: WebhookDelivery) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = http.post(delivery.hook_url, json=delivery.message)
                outcome, ok = str(response.status_code), response.status_code < 500
            except httpx.HTTPError as exc:
                outcome, ok = type(exc).__name__, False
            with self._lock:
                delivery.outcomes.append(outcome)
                if ok:
                    delivery.delivered = True
                    return
                if attempt == self.attempts:
                    delivery.dropped = True
                    return
            time.sleep(self.retry_delay)
