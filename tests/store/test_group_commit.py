"""Webhook deliveries saved concurrently share commits (``store._group_commit``), on the
suite's database: each caller learns its own outcome, duplicates included."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, select

from servicetrade_spectrum.store import Store
from servicetrade_spectrum.store._group_commit import GroupCommit
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


def test_a_failed_group_fails_each_caller_and_commits_nothing(configured: Store) -> None:
    account_id = configured.accounts()[0].id

    def insert_then_fail(conn: Connection, row: dict[str, object]) -> bool:
        conn.execute(WebhookMessage.__table__.insert(), row)
        raise RuntimeError("the write failed")

    failing: GroupCommit[dict[str, object], bool] = GroupCommit(configured.engine,
                                                                insert_then_fail)
    with pytest.raises(RuntimeError, match="the write failed"):
        failing.submit({"account_id": account_id, "message_id": "lost",
                        "received_at": datetime.now(UTC), "body": {}, "outcome": ""})
    assert configured.save_webhook_message(account_id, "lost", {}) is True
