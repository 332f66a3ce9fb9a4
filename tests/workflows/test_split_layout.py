"""``serve --web-only`` with ``worker --automation``: the web process only accepts, the worker
processes the webhook messages and sends (the layout that keeps acknowledgements fast)."""

from __future__ import annotations

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain.rules import Trigger
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, register_webhook

from .conftest import ACCOUNT, CONNECTION, Processes, wait_until


def test_a_webhook_accepted_by_a_web_only_serve_is_sent_by_the_automation_worker(
        durable_store: Store, durable_settings: Settings, processes: Processes,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    durable_store.add_rule(CONNECTION, Trigger.ON_STATUS, "completed")
    web = processes.start("serve", "--port", "0", "--web-only")
    port = web.wait_for_output(r"serving on http://127\.0\.0\.1:(\d+) ").group(1)
    web.wait_for_output(r"web app only")
    processes.start("worker", "--automation").wait_for_output(
        r"running sends and the automation")
    clients = ClientPool(durable_settings)
    try:
        register_webhook(durable_store, clients, ACCOUNT, f"http://127.0.0.1:{port}")
    finally:
        clients.close()
    job_id = seed.notable_jobs().ready
    servicetrade_emulator.update_job(job_id, status="completed")
    connection = durable_store.connection(CONNECTION)

    def sent() -> bool:
        attempt = durable_store.last_attempt(connection.id, job_id)
        return attempt is not None and attempt.status == "sent" and attempt.trigger == "rule"

    wait_until(sent, 30, "the automation worker to send the completed job")
    assert "runtime.started" not in web.output()  # the web process ran no sends
