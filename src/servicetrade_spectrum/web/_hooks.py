"""``POST /hooks/servicetrade/{secret}``: accept ServiceTrade webhook deliveries.

ServiceTrade waits 5 s for an answer, retries a 5xx or a time-out, and drops a message after
3 failures; any 2xx-4xx counts as delivered. So the handler only checks the secret, persists
the message (a duplicate ``messageId`` is acknowledged and ignored) and answers; the jobs are
read and judged afterwards, by the automation worker it wakes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync._webhooks import secret_digest

__all__ = ["MAX_BODY_BYTES", "hooks_router"]

MAX_BODY_BYTES = 5 * 1024 * 1024


def hooks_router(store: Store, wake: Callable[[], None]) -> APIRouter:
    router = APIRouter()

    @router.post("/hooks/servicetrade/{secret}", include_in_schema=False)
    async def receive(secret: str, request: Request) -> Response:
        account_id = await run_in_threadpool(store.account_id_for_webhook, secret_digest(secret))
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
