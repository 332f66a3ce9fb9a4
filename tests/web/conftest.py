"""The web app as ``st-spectrum serve`` runs it, once per test module: both emulators, the
demo account and connection, a second account on a ServiceTrade of its own, users, the
durable send runtime, and the app on a real port. Browser tests drive Debian's chromium
through Playwright.

Tests share the module's environment, so each one works on records it can tell apart (its
own job, the attempt its send returned) and never assumes an empty history.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.store import NewConnection, Store
from servicetrade_spectrum.sync import ClientPool, SendService
from servicetrade_spectrum.web import WebServices, create_app
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue

CHROMIUM = os.environ.get("ST_SPECTRUM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]

ACCOUNT = "Northwind"
"""The account of the root conftest's demo configuration (its connection is "Main")."""
PASSWORD = "correct horse battery staple"
ADMIN = "admin@northwind.example"
OFFICE = "office@northwind.example"
OTHER_ADMIN = "admin@contoso.example"
OTHER_ACCOUNT = "Contoso"
OTHER_CONNECTION = "Contoso Spectrum"
OTHER_JOB_OFFSET = 5_000_000
"""The other account's ServiceTrade has the seed's jobs under these IDs plus this offset."""

T = TypeVar("T")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def other_account_state() -> dict[str, Any]:
    """A second ServiceTrade account: the seed, with job IDs no Northwind job has."""
    state = copy.deepcopy(seed.servicetrade_state())
    for job in state["jobs"]:
        job["id"] += OTHER_JOB_OFFSET
    return state


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class WebEnvironment:
    url: str
    settings: Settings
    store: Store
    spectrum: SpectrumEmulator
    servicetrade: ServiceTradeEmulator
    other_servicetrade: ServiceTradeEmulator
    spectrum_url: str
    servicetrade_url: str
    jobs: seed.NotableJobs
    services: WebServices
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, email: str | None = ADMIN) -> httpx.Client:
        """An HTTP client, signed in as ``email`` through the sign-in form (None: not)."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        self._clients.append(client)
        if email is not None:
            form = client.get("/login")
            answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                                 "csrf_token": csrf_token(form.text),
                                                 "next": "/jobs"})
            assert answer.status_code == 303, answer.text
        return client

    def api(self, email: str = ADMIN) -> httpx.Client:
        """An HTTP client for the REST API, with a personal token of ``email``."""
        user = self.store.users.by_email(email)
        assert user is not None
        token = self.store.users.create_token(user.id, "tests")
        client = httpx.Client(base_url=f"{self.url}/api/v1", timeout=30,
                              headers={"Authorization": f"Bearer {token}"})
        self._clients.append(client)
        return client

    def post_form(self, client: httpx.Client, page: str, action: str,
                  data: dict[str, str]) -> httpx.Response:
        """Submit a form the way a browser does: read ``page`` for its CSRF token first."""
        token = csrf_token(client.get(page).text)
        return client.post(action, data={**data, "csrf_token": token})

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture(scope="module")
def web_env(tmp_path_factory: pytest.TempPathFactory, module_database: tuple[str, str],
            demo_configuration: Callable[[Store, str, str], Store]
            ) -> Iterator[WebEnvironment]:
    url, schema = module_database
    settings = Settings(home=tmp_path_factory.mktemp("web-home"), database_url=url,
                        secret_keys=None, retry_attempts=3, retry_base_delay=0.01,
                        retry_max_delay=0.05, spectrum_timeout=3.0, servicetrade_timeout=3.0,
                        dbos_schema=schema, executor_timeout=2.0)
    spectrum = SpectrumEmulator.from_seed()
    servicetrade = ServiceTradeEmulator.from_seed()
    other = ServiceTradeEmulator(other_account_state())
    with (BackgroundServer(spectrum.app) as spectrum_server,
          BackgroundServer(servicetrade.app) as servicetrade_server,
          BackgroundServer(other.app) as other_server):
        store = Store.open(settings)
        spectrum_url = f"{spectrum_server.url}/ws"
        servicetrade_url = f"{servicetrade_server.url}/api"
        demo_configuration(store, servicetrade_url, spectrum_url)
        _add_other_account(store, f"{other_server.url}/api", spectrum_url)
        _add_users(store)
        clients = ClientPool(settings)
        sender = SendService(store, clients, poll_interval=0.02)
        runtime = _outside_the_event_loop(
            DurableRuntime(settings, store, sender, role="serve").start)
        queue = SendQueue(settings)
        services = WebServices(settings, store, clients, sender, queue=queue)
        app = create_app(services)
        environment = None
        try:
            with BackgroundServer(app) as web:
                environment = WebEnvironment(
                    url=web.url, settings=settings, store=store, spectrum=spectrum,
                    servicetrade=servicetrade, other_servicetrade=other,
                    spectrum_url=spectrum_url, servicetrade_url=servicetrade_url,
                    jobs=seed.notable_jobs(), services=services)
                yield environment
        finally:
            if environment is not None:
                environment.close()
            queue.close()
            _outside_the_event_loop(lambda: runtime.stop(drain_seconds=2))
            clients.close()
            store.close()
            servicetrade.close()
            other.close()


def _outside_the_event_loop(call: Callable[[], T]) -> T:
    """Run ``call`` in a thread of its own. DBOS's synchronous API refuses to run where an
    event loop is running, and Playwright's sync API runs one in the test thread (the
    session's browser starts before a browser module's environment)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def _add_other_account(store: Store, servicetrade_url: str, spectrum_url: str) -> None:
    store.add_account(OTHER_ACCOUNT, servicetrade_url, auth_kind="session",
                      secret=seed.DEMO_PASSWORD, username=seed.DEMO_USERNAME)
    store.add_connection(NewConnection(
        name=OTHER_CONNECTION, account=OTHER_ACCOUNT, ws_url=spectrum_url,
        company_code=seed.DEMO_COMPANY_CODE, authorization_id=seed.DEMO_AUTHORIZATION_ID,
        prefix="C", system="spectrum"))


def _add_users(store: Store) -> None:
    northwind = store.account(ACCOUNT).id
    contoso = store.account(OTHER_ACCOUNT).id
    store.users.add(ADMIN, account_id=northwind, password=PASSWORD, is_admin=True)
    store.users.add(OFFICE, account_id=northwind, password=PASSWORD, is_admin=False)
    store.users.add(OTHER_ADMIN, account_id=contoso, password=PASSWORD, is_admin=True)


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, driven by Playwright, for one test module. Missing chromium fails
    (it is never skipped): `./dev test` installs it.

    Module-scoped, not session-scoped: while Playwright's sync API is running it keeps an
    event loop in the test thread, and DBOS's synchronous API refuses to run there, so a
    browser left open would break every later test that starts a durable runtime."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"No chromium at {CHROMIUM}: install Debian's 'chromium' package "
                    "(.ci/run does) or set ST_SPECTRUM_TEST_CHROMIUM.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, web_env: WebEnvironment) -> Iterator[Any]:
    """A fresh browser tab (no cookies), on the web app's address."""
    context = browser.new_context(base_url=web_env.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Any, email: str = ADMIN, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs.*"))
