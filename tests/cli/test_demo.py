"""``st-spectrum demo --no-wait``: both emulators, seed data, a home of its own."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence

import httpx

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.store import Store

from .conftest import RunCli


def test_demo_sends_examples_in_its_own_home_and_leaves_the_real_one_alone(
        run_cli: RunCli, settings: Settings) -> None:
    # The user's own configuration, in the SQLite database of their home (no database URL).
    real_settings = Settings(home=settings.home, database_url=None, secret_keys=None)
    real = Store.open(real_settings)
    try:
        real.add_account("Real", "https://api.servicetrade.com/api", auth_kind="session",
                         secret="real-password", username="someone@example.com")
    finally:
        real.close()
    key_before = (settings.home / "secret.key").read_bytes()

    demo = run_cli("demo", "--no-wait", "--spectrum-port", "0", "--servicetrade-port", "0",
                   env={"ST_SPECTRUM_DATABASE_URL": None})
    assert demo.returncode == 0, demo.stdout + demo.stderr
    jobs = seed.notable_jobs()
    assert re.search(rf"{jobs.ready}\D.*work order T\d{{5}}\b", demo.stdout)
    assert "failed: customer_not_mapped" in demo.stdout
    assert f"Comment added to job {jobs.customer_not_mapped} in ServiceTrade:" in demo.stdout
    assert "Birchwood Condominiums" in demo.stdout  # the comment's text names the company
    for secret in (seed.DEMO_PASSWORD, seed.DEMO_AUTHORIZATION_ID):
        assert secret not in demo.stdout + demo.stderr

    assert (settings.home / "demo" / "st-spectrum.db").exists()
    assert (settings.home / "secret.key").read_bytes() == key_before
    real = Store.open(real_settings)
    try:
        assert [(a.name, a.secret) for a in real.accounts()] == [("Real", "real-password")]
        assert real.connections() == []
        assert real.history() == []
    finally:
        real.close()


def test_the_demo_serves_the_web_app_with_a_signed_in_user_and_the_seeded_jobs(
        start_cli: Callable[[Sequence[str]], subprocess.Popen[str]]) -> None:
    demo = start_cli(["demo", "--spectrum-port", "0", "--servicetrade-port", "0",
                      "--web-port", "0", "--no-open"])
    assert demo.stdout is not None
    link = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not link:
        line = demo.stdout.readline()
        if not line:
            break
        found = re.search(r"one-time link: (http://\S+)", line)
        link = found.group(1) if found else ""
    assert link, "the demo printed no sign-in link"
    try:
        with httpx.Client(timeout=30) as browser:
            signed_in = browser.get(link, follow_redirects=True)
            assert signed_in.status_code == 200
            assert signed_in.url.path == "/jobs"
            jobs = seed.notable_jobs()
            ready = seed.servicetrade_state()["jobs"]
            number = next(j["number"] for j in ready if j["id"] == jobs.ready)
            assert str(number) in signed_in.text
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
