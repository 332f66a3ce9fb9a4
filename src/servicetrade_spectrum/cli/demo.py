"""``st-spectrum demo``: the whole product against both emulators, in a home of its own.

Starts the Spectrum and ServiceTrade emulators with their seed data, configures an account
and a connection against them in ``{home}/demo`` (real configuration is left alone, and a
PostgreSQL ``ST_SPECTRUM_DATABASE_URL`` is ignored), sends a few jobs, one of which fails for
a missing mapping so its comment can be seen, prints what happened and where to look, then
serves the web app with a signed-in demo user (a one-time sign-in link, opened in the
browser when there is a screen) and stays up until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import sys
import time
import webbrowser
from datetime import timedelta
from pathlib import Path

from rich.table import Table

from servicetrade_spectrum.cli._context import stdout
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain.rules import Trigger
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.logs import configure_logging
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.sync import (
    ClientPool,
    SendRequest,
    SendResult,
    SendService,
    register_webhook,
)
from servicetrade_spectrum.web import WebServices, create_app
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
from servicetrade_spectrum.workflows._automation_loop import AutomationLoop

__all__ = ["run_demo"]

ACCOUNT = "Northwind"
CONNECTION = "Main"
DEMO_USER = "office@northwind.example"


def _free(port: int) -> int:
    """``port`` when nothing listens there, else 0 (any free port)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def _demo_settings(base: Settings) -> Settings:
    home = base.home / "demo"
    if home.exists():
        shutil.rmtree(home)  # the emulators start from their seed: start the demo fresh too
    return Settings(home=home, database_url=None, secret_keys=None, retry_attempts=3,
                    retry_base_delay=0.2, retry_max_delay=1.0, log_level="WARNING")


def _describe(result: SendResult) -> str:
    if result.failure is not None:
        return f"failed: {result.failure.kind.value}"
    warned = " (with a warning)" if result.warnings else ""
    return f"work order {result.work_order_number}{warned}"


def _has_screen() -> bool:
    """Only then open a browser: on a bare terminal, ``webbrowser`` would start a text one."""
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_demo(*, no_wait: bool, spectrum_port: int, servicetrade_port: int,
             web_port: int = 8400, open_browser: bool = True) -> None:
    """Run the product against both emulators, with seed data, in a demo home."""
    settings = _demo_settings(Settings())
    configure_logging("WARNING", "console")
    spectrum_emulator = SpectrumEmulator.from_seed()
    servicetrade_emulator = ServiceTradeEmulator.from_seed()
    with contextlib.ExitStack() as stack:
        stack.callback(servicetrade_emulator.close)
        spectrum = stack.enter_context(BackgroundServer(spectrum_emulator.app,
                                                        port=_free(spectrum_port)))
        servicetrade = stack.enter_context(BackgroundServer(servicetrade_emulator.app,
                                                            port=_free(servicetrade_port)))
        store = Store.open(settings)
        stack.callback(store.close)
        clients = ClientPool.sharing_spectrum_slots(settings, store)
        stack.callback(clients.close)
        _configure(store, f"{servicetrade.url}/api", f"{spectrum.url}/ws")
        password = secrets.token_urlsafe(12)
        demo_user = store.users.add(DEMO_USER, account_id=store.account(ACCOUNT).id,
                                    password=password, is_admin=True)
        # The product as `st-spectrum serve` runs it: send workers, automation, web app.
        sender = SendService(store, clients)
        runtime = DurableRuntime(settings, store, sender, role="serve").start()
        stack.callback(runtime.stop, drain_seconds=2)
        queue = SendQueue(settings)
        stack.callback(queue.close)
        automation = AutomationLoop(settings, store, clients, queue).start()
        stack.callback(automation.stop)
        services = WebServices(settings, store, clients, sender, queue=queue,
                               wake=automation.wake)
        web = stack.enter_context(BackgroundServer(create_app(services),
                                                   port=_free(web_port)))
        connection_id = store.connection(CONNECTION).id
        results = _send_examples(queue, connection_id)
        _report(results, servicetrade_emulator, settings.home, spectrum.url, servicetrade.url)
        _automatic_send(store, clients, servicetrade_emulator, web.url)
        link = (f"{web.url}/login/link/"
                f"{store.users.create_sign_in_link(demo_user.id, timedelta(hours=1))}")
        cli = f"ST_SPECTRUM_HOME={settings.home} .venv/bin/st-spectrum"
        stdout.print(f"""
Web app: {web.url}, as {DEMO_USER} (an admin of '{ACCOUNT}'), signed in by this
  one-time link: {link}
  another link:  {cli} user link {DEMO_USER} --base-url {web.url}
  REST API docs: {web.url}/docs (a token: {cli} token create --user {DEMO_USER})""",
                     markup=False)
        if no_wait:
            return
        if open_browser and _has_screen():
            webbrowser.open(link)
        stdout.print(f"\nst-spectrum is serving at {web.url} (webhooks at "
                     "/hooks/servicetrade/<secret>) with its send workers; the emulators stay "
                     "up until Ctrl-C.", markup=False)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


def _configure(store: Store, servicetrade_api: str, ws_url: str) -> None:
    store.add_account(ACCOUNT, servicetrade_api, auth_kind="session", secret=seed.DEMO_PASSWORD,
                      username=seed.DEMO_USERNAME)
    store.add_connection(NewConnection(
        name=CONNECTION, account=ACCOUNT, ws_url=ws_url, company_code=seed.DEMO_COMPANY_CODE,
        authorization_id=seed.DEMO_AUTHORIZATION_ID, prefix="T", work_order_type="SVC"))


def _send_examples(queue: SendQueue, connection_id: int) -> list[tuple[str, SendResult]]:
    jobs = seed.notable_jobs()
    examples = [
        ("fully mapped job", jobs.ready),
        ("job without a contract", jobs.ready_without_contract),
        ("description over 250 characters", jobs.long_summary),
        ("company without a Spectrum customer", jobs.customer_not_mapped),
        ("customer code Spectrum does not know", jobs.unknown_customer_code),
    ]
    handles = [(label, queue.enqueue(SendRequest(job_id, CONNECTION, "demo", "demo"),
                                     connection_id)) for label, job_id in examples]
    return [(label, queue.result(handle)) for label, handle in handles]


def _automatic_send(store: Store, clients: ClientPool, servicetrade: ServiceTradeEmulator,
                    web_url: str) -> None:
    """A rule, a webhook, and a job reaching "completed" in ServiceTrade: sent by itself."""
    rule = store.add_rule(CONNECTION, Trigger.ON_STATUS, "completed")
    register_webhook(store, clients, ACCOUNT, web_url)
    job_id = seed.notable_jobs().ready  # scheduled; sent above, so this re-send updates it
    job = servicetrade.update_job(job_id, status="completed")
    stdout.print(f"\nAutomation: rule {rule.id} will {rule.describe()}. Job {job['number']} "
                 "was just marked completed in ServiceTrade...", markup=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        attempts = [a for a in store.history(job_id=job_id)
                    if a.trigger == "rule" and a.status != "running"]
        if attempts:
            outcome = (f"work order {attempts[0].work_order_number}"
                       if attempts[0].status == "sent" else attempts[0].failure_kind)
            stdout.print(f"  ...ServiceTrade's webhook reached st-spectrum and the job was sent "
                         f"by itself: {outcome}.", markup=False)
            return
        time.sleep(0.1)
    stdout.print("  ...no automatic send within 20 s: see 'st-spectrum history'.", markup=False)


def _report(results: list[tuple[str, SendResult]], servicetrade: ServiceTradeEmulator,
            home: Path, spectrum_url: str, servicetrade_url: str) -> None:
    table = Table("job ID", "what it shows", "outcome", title="Send Job to Spectrum — Main")
    for label, result in results:
        table.add_row(str(result.job_id), label, _describe(result))
    stdout.print(table)
    for label, result in results:
        for warning in result.warnings:
            stdout.print(f"{label}: warning: {warning}", markup=False)
        if result.failure is not None:
            stdout.print(f"{label}: {result.failure.message}\n  Fix: {result.failure.fix}",
                         markup=False)
    failed = next((r for _, r in results if r.failure and r.failure.kind.value ==
                   "customer_not_mapped"), None)
    if failed is not None:
        comments = servicetrade.comments(failed.job_id)
        if comments:
            stdout.print(f"\nComment added to job {failed.job_id} in ServiceTrade:", markup=False)
            stdout.print(f"  {comments[-1]['content']}".replace("\n", "\n  "), markup=False)
    stdout.print(f"""
Where to look:
  Spectrum emulator (Web Services URL): {spectrum_url}/ws
    work orders it stored:              {spectrum_url}/_emulator/work-orders
  ServiceTrade emulator (API root):     {servicetrade_url}/api
    comments it stored:                 {servicetrade_url}/_emulator/comments
  demo home (database, secret key):     {home}

Try, in another terminal while the demo runs:
  ST_SPECTRUM_HOME={home} .venv/bin/st-spectrum history
  ST_SPECTRUM_HOME={home} .venv/bin/st-spectrum send {results[0][1].job_id} --connection {CONNECTION} --preview""", markup=False)  # noqa: E501
