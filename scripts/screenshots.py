"""Take the screenshots in ``docs/screenshots/``: the job page after a send (sent, and failed
for a missing mapping) and the history page, in Debian's chromium.

Runs the product as the demo does (both emulators with their seed, the durable send
runtime, the web app) in a temporary home, signs in through a one-time link, and uses the
pages as a person would: open a job, open the Send menu, pick the connection.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.logs import configure_logging
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.sync import ClientPool, SendRequest, SendService
from servicetrade_spectrum.web import WebServices, create_app
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
USER = "office@northwind.example"
CONNECTION = "Main"


@dataclass
class Product:
    url: str
    store: Store
    queue: SendQueue
    connection_id: int


@contextmanager
def running_product() -> Iterator[Product]:
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="st-spectrum-shots-")),
                        database_url=None, secret_keys=None, log_level="WARNING")
    with ExitStack() as stack:
        spectrum = stack.enter_context(BackgroundServer(SpectrumEmulator.from_seed().app))
        servicetrade_emulator = ServiceTradeEmulator.from_seed()
        stack.callback(servicetrade_emulator.close)
        servicetrade = stack.enter_context(BackgroundServer(servicetrade_emulator.app))
        store = Store.open(settings)
        stack.callback(store.close)
        store.add_account("Northwind", f"{servicetrade.url}/api", auth_kind="session",
                          secret=seed.DEMO_PASSWORD, username=seed.DEMO_USERNAME)
        connection = store.add_connection(NewConnection(
            name=CONNECTION, account="Northwind", ws_url=f"{spectrum.url}/ws",
            company_code=seed.DEMO_COMPANY_CODE, authorization_id=seed.DEMO_AUTHORIZATION_ID,
            prefix="T", work_order_type="SVC"))
        store.users.add(USER, account_id=store.account("Northwind").id,
                        password=secrets.token_urlsafe(16), is_admin=True)  # link sign-in
        clients = ClientPool(settings)
        stack.callback(clients.close)
        sender = SendService(store, clients)
        runtime = DurableRuntime(settings, store, sender, role="serve").start()
        stack.callback(runtime.stop, drain_seconds=2)
        queue = SendQueue(settings)
        stack.callback(queue.close)
        web = stack.enter_context(BackgroundServer(create_app(
            WebServices(settings, store, clients, sender, queue=queue))))
        yield Product(web.url, store, queue, connection.id)


def send_in_the_background(product: Product, job_ids: list[int]) -> None:
    """A few sends by others, so the history page has something to show."""
    handles = [product.queue.enqueue(SendRequest(job_id, CONNECTION, "rule",
                                                 "on status 'completed'"),
                                     product.connection_id) for job_id in job_ids]
    for handle in handles:
        product.queue.result(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging("WARNING", "console")
    jobs = seed.notable_jobs()
    with running_product() as product:
        send_in_the_background(product, [jobs.ready_without_contract, jobs.long_summary,
                                         jobs.unknown_customer_code])
        user = product.store.users.by_email(USER)
        assert user is not None
        link = f"{product.url}/login/link/{product.store.users.create_sign_in_link(user.id)}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(link)
            for job_id, outcome, name in ((jobs.ready, "sent", "job-sent.png"),
                                          (jobs.customer_not_mapped, "failed",
                                           "job-failed.png")):
                page.goto(f"{product.url}/jobs/{job_id}")
                page.click("details.send-menu > summary")
                page.get_by_role("button", name=f"Send Job to Spectrum \u2014 {CONNECTION}",
                                 exact=True).click()
                expect(page.locator(f"#send-status.{outcome}")).to_be_visible(timeout=30_000)
                page.screenshot(path=str(args.out / name), full_page=True)
                print(args.out / name)
            page.goto(f"{product.url}/history")
            page.screenshot(path=str(args.out / "history.png"), full_page=True)
            print(args.out / "history.png")
            browser.close()


if __name__ == "__main__":
    main()
