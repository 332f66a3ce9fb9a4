"""Webhook deliveries saved concurrently, on the suite's database: each saved once, and each
caller told whether its delivery was new."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from servicetrade_spectrum.store import Store
from servicetrade_spectrum.store._models import WebhookMessage


def test_concurrent_deliveries_are_each_saved_once_and_duplicates_are_told(
        configured: Store) -> None:
    account_id = configured.accounts()[0].id
    outcomes: Counter[bool] = Counter()
    lock = threading.Lock()

    def deliver(n: int) -> None:
        fresh = configured.save_webhook_message(account_id, f"m-{n % 10}", {"n": n})
        with lock:
            outcomes[fresh] += 1

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {True: 10, False: 20}
    with configured.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookMessage)) == 10
