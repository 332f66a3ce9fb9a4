"""``POST /hooks/servicetrade/{secret}``: accept ServiceTrade webhook deliveries.

ServiceTrade waits 5 s for an answer, retries a 5xx or a time-out, and drops a message after
3 failures; any 2xx-4xx counts as delivered. So the handler only checks the secret, persists
the message (a duplicate ``messageId`` is acknowledged and ignored) and answers; the jobs are
read and judged afterwards, by the automation worker it wakes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync._webhooks import secret_digest

__all__ = ["MAX_BODY_BYTES", "hooks_router"]

MAX_BODY_BYTES = 5 * 1024 * 1024
SECRET_CACHE_SECONDS = 30.0
"""How long a hook secret's account is remembered: a burst of deliveries looks it up once.
A re-registered webhook's old secret keeps working for at most this long."""


class _SecretCache:
    """Hook secret digest -> account ID, for ``SECRET_CACHE_SECONDS`` (unknown digests are
    never remembered)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def account_id(self, digest: str) -> int | None:
        now = time.monotonic()
        with self._lock:
            known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        account_id = self._store.account_id_for_webhook(digest)
        if account_id is not None:
            with self._lock:
                if len(self._known) > 1000:
                    self._known.clear()
                self._known[digest] = (account_id, now + SECRET_CACHE_SECONDS)
        return account_id


def hooks_router(store: Store, wake: Callable[[], None]) -> APIRouter:
    router = APIRouter()
    secrets = _SecretCache(store)

    @router.post("/hooks/servicetrade/{secret}", include_in_schema=False)
    async def receive(secret: str, request: Request) -> Response:
        account_id = await run_in_threadpool(secrets.account_id, secret_digest(secret))
        if account_id is None:
            return Response(status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response("message too large", status_code=413)
        try:
            message = json.loads(body)
        except ValueError:
            return Response("body is not JSON", status_code=400)
        if not isinstance(message, dict) or not message.get("messageId"):
            return Response("not a ServiceTrade webhook message", status_code=400)
        fresh = await run_in_threadpool(store.save_webhook_message, account_id,
                                        str(message["messageId"]), message)
        if fresh:
            wake()
        return Response(status_code=200 if fresh else 208)

    return router
