"""``ServiceTradeEmulator``: the emulated account, its HTTP app, and the handles tests use.

Tests run ``emulator.app`` under :class:`~servicetrade_spectrum.serving.BackgroundServer` and
point the real client at ``{server.url}/api``; they inject faults, change jobs (which fires
webhooks) and read back what the client stored through the Python API here. The command
``st-spectrum emulate servicetrade`` runs the same app in the foreground.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from servicetrade_spectrum.emulators.seed import servicetrade_state
from servicetrade_spectrum.emulators.servicetrade._app import RecordedRequest, build_app
from servicetrade_spectrum.emulators.servicetrade._delivery import (
    WebhookDelivery,
    WebhookDispatcher,
)
from servicetrade_spectrum.emulators.servicetrade._faults import Fault, FaultPlan
from servicetrade_spectrum.emulators.servicetrade._state import (
    JOB_ENTITY_TYPE,
    AccountState,
    JobChange,
    Session,
)

__all__ = ["ServiceTradeEmulator", "run_servicetrade_emulator"]

DEFAULT_USER_ID = 41


class ServiceTradeEmulator:
    """An in-memory ServiceTrade account served over HTTP by :attr:`app`.

    ``state`` is the ``--data`` JSON format (default: the built-in seed).
    """

    def __init__(self, state: Mapping[str, Any] | None = None, *, latency_ms: float = 0.0,
                 max_sessions_per_user: int = 5, token_lifetime: float = 3600.0,
                 entity_external_ids: bool = True, webhook_retry_delay: float = 0.2) -> None:
        self.account = AccountState(state if state is not None else servicetrade_state(),
                                    max_sessions_per_user=max_sessions_per_user,
                                    token_lifetime=token_lifetime,
                                    entity_external_ids=entity_external_ids)
        self.latency_ms = latency_ms
        self.faults = FaultPlan()
        self.webhooks = WebhookDispatcher(retry_delay=webhook_retry_delay)
        self.api_url = "http://127.0.0.1/api"
        """Where clients reach the API (learnt from requests): the base of webhook ``uri``s."""
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._batch: list[JobChange] | None = None
        self._batch_lock = threading.Lock()
        self.app: Starlette = build_app(self)

    @classmethod
    def from_seed(cls, **options: Any) -> ServiceTradeEmulator:
        return cls(servicetrade_state(), **options)

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> ServiceTradeEmulator:
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle), **options)

    def close(self) -> None:
        """Stop the webhook delivery thread."""
        self.webhooks.close()

    # --- what the client did -----------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request answered so far, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    @property
    def sessions(self) -> list[Session]:
        with self.account.lock:
            return [Session(**vars(s)) for s in self.account.sessions.values()]

    @property
    def login_count(self) -> int:
        return self.account.login_count

    @property
    def token_count(self) -> int:
        """How many OAuth access tokens were issued."""
        return self.account.token_count

    def comments(self, job_id: int) -> list[dict[str, Any]]:
        return self.account.list_comments(JOB_ENTITY_TYPE, job_id)

    def external_ids(self, entity: str, entity_id: int) -> dict[str, str]:
        return self.account.external_ids(entity, entity_id)

    def job(self, job_id: int) -> dict[str, Any]:
        """The job as ``GET /job/{id}`` shows it."""
        return self.account.render_job(job_id)

    def dump(self) -> dict[str, Any]:
        return self.account.dump()

    # --- changing the world ------------------------------------------------------------------
    def inject(self, kind: str, *, path_prefix: str = "/", method: str | None = None,
               count: int = 1, delay: float = 0.0) -> Fault:
        """Make the next ``count`` matching API requests fail (see ``_faults``)."""
        return self.faults.add(kind, path_prefix=path_prefix, method=method, count=count,
                               delay=delay)

    def expire_sessions(self) -> None:
        """Forget every login session, as a server-side timeout would."""
        self.account.expire_sessions()

    def expire_tokens(self) -> None:
        self.account.expire_tokens()

    def set_password(self, username: str, password: str) -> None:
        self.account.set_password(username, password)

    def issue_refresh_token(self, client_id: str) -> str:
        return self.account.issue_refresh_token(client_id)

    def update_job(self, job_id: int, **changes: Any) -> dict[str, Any]:
        """Change a job (wire field names: ``status``, ``customerPo``...) and fire webhooks."""
        change = self.account.update_job(job_id, changes, DEFAULT_USER_ID)
        self.publish(change)
        return self.account.render_job(job_id)

    def create_job(self, *, location_id: int, type: str,  # the wire name
                   **fields: Any) -> dict[str, Any]:
        """Add a job at ``location_id`` (other fields by wire name) and fire webhooks."""
        change = self.account.create_job({**fields, "locationId": location_id, "type": type},
                                         DEFAULT_USER_ID)
        self.publish(change)
        return self.account.render_job(change.job_id)

    # --- webhooks ----------------------------------------------------------------------------
    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return list(self.webhooks.deliveries)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        return self.webhooks.wait(timeout)

    @contextmanager
    def batched_events(self) -> Iterator[None]:
        """Job changes inside the ``with`` reach each hook as one message with many events."""
        with self._batch_lock:
            self._batch = []
        try:
            yield
        finally:
            with self._batch_lock:
                changes, self._batch = self._batch or [], None
            self._deliver(changes)

    def publish(self, change: JobChange) -> None:
        """Tell the hooks registered for this job action (now, or at the end of a batch)."""
        if change.action == "updated" and not change.changeset:
            return  # nothing changed: ServiceTrade sends no event
        with self._batch_lock:
            if self._batch is not None:
                self._batch.append(change)
                return
        self._deliver([change])

    def _deliver(self, changes: list[JobChange]) -> None:
        hooks: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for change in changes:
            for hook in self.account.hooks_for(JOB_ENTITY_TYPE, change.action):
                event: dict[str, Any] = {
                    "action": change.action, "timestamp": int(time.time()),
                    "userId": change.user_id,
                    "entity": {"type": "job", "id": change.job_id,
                               "uri": f"{self.api_url}/job/{change.job_id}"}}
                if hook.get("includeChangesets"):
                    event["changeset"] = change.changeset
                hooks.setdefault(hook["id"], (hook, []))[1].append(event)
        for hook, events in hooks.values():
            self.webhooks.send(hook, {"messageId": str(uuid.uuid4()),
                                      "timestamp": int(time.time()), "data": events})


def run_servicetrade_emulator(*, host: str, port: int, data: Path | None,
                              latency_ms: float) -> None:
    """Serve the emulator in the foreground until interrupted (``st-spectrum emulate``)."""
    import uvicorn

    from servicetrade_spectrum.emulators.seed import DEMO_OAUTH_CLIENT_ID, DEMO_USERNAME

    emulator = (ServiceTradeEmulator.from_file(data, latency_ms=latency_ms) if data
                else ServiceTradeEmulator.from_seed(latency_ms=latency_ms))
    from servicetrade_spectrum.serving import listening_socket

    sock = listening_socket(host, port)  # bound first: the printed address is live
    port = sock.getsockname()[1]
    print(f"ServiceTrade emulator: http://{host}:{port}/api", flush=True)
    if data is None:
        print(f"  session login: {DEMO_USERNAME} (password in emulators/seed.py); "
              f"OAuth client: {DEMO_OAUTH_CLIENT_ID}", flush=True)
    print(f"  controls: http://{host}:{port}/_emulator/state", flush=True)
    try:
        config = uvicorn.Config(emulator.app, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=2)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        emulator.close()
