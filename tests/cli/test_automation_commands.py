"""``rule``, ``webhook register`` and ``connection pause/resume`` as scripts run them."""

from __future__ import annotations

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store

from .conftest import RunCli, only_json

CONNECTION = "Main"


def test_rules_are_added_listed_and_removed(configured: Store, run_cli: RunCli) -> None:
    added = run_cli("rule", "add", "--connection", CONNECTION, "--on-status", "completed",
                    "--job-type", "inspection")
    assert added.returncode == 0, added.stderr
    assert "when a job's status is 'completed', inspection jobs only" in added.stdout
    assert run_cli("rule", "add", "--connection", CONNECTION, "--on-tag", "billable"
                   ).returncode == 0
    rules = only_json(run_cli("rule", "list", "--json").stdout)
    assert [(r["trigger"], r["value"], r["job_type"]) for r in rules] == [
        ("on_status", "completed", "inspection"), ("on_tag", "billable", "")]
    assert run_cli("rule", "remove", str(rules[0]["id"])).returncode == 0
    assert len(only_json(run_cli("rule", "list", "--json").stdout)) == 1
    missing = run_cli("rule", "remove", "999999")
    assert missing.returncode == 2
    assert "No rule 999999" in missing.stderr


def test_a_rule_needs_exactly_one_trigger_and_a_known_connection(
        configured: Store, run_cli: RunCli) -> None:
    both = run_cli("rule", "add", "--connection", CONNECTION, "--on-create", "--on-tag", "x")
    assert both.returncode == 2
    assert "exactly one of --on-create, --on-status STATUS or --on-tag TAG" in both.stderr
    assert run_cli("rule", "add", "--connection", CONNECTION).returncode == 2
    unknown = run_cli("rule", "add", "--connection", "Nope", "--on-create")
    assert unknown.returncode == 2
    assert "No connection named 'Nope'" in unknown.stderr
    assert configured.rules() == []


def test_webhook_register_never_prints_the_secret(
        configured: Store, run_cli: RunCli, servicetrade_emulator: ServiceTradeEmulator) -> None:
    result = run_cli("webhook", "register", "--account", "Northwind", "--public-url",
                     "http://127.0.0.1:8400")
    assert result.returncode == 0, result.stderr
    (hook,) = servicetrade_emulator.dump()["webhooks"]
    prefix = "http://127.0.0.1:8400/hooks/servicetrade/"
    assert hook["hookUrl"].startswith(prefix)
    secret = hook["hookUrl"][len(prefix):]
    assert len(secret) >= 16
    assert secret not in result.stdout + result.stderr
    assert "/hooks/servicetrade/<secret>" in result.stdout
    again = run_cli("webhook", "register", "--account", "Northwind", "--public-url",
                    "http://127.0.0.1:8400")
    assert again.returncode == 0
    (replacement,) = servicetrade_emulator.dump()["webhooks"]  # the old one was deleted
    assert replacement["hookUrl"] != hook["hookUrl"]
    bad = run_cli("webhook", "register", "--account", "Northwind", "--public-url", "ftp://x")
    assert bad.returncode == 2


def test_a_paused_connection_sends_nothing_until_resumed(
        configured: Store, run_cli: RunCli, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator) -> None:
    assert run_cli("connection", "pause", CONNECTION, "--reason", "Spectrum upgrade tonight"
                   ).returncode == 0
    listed = only_json(run_cli("connection", "list", "--json").stdout)
    assert (listed[0]["paused"], listed[0]["pause_reason"]) == (True, "Spectrum upgrade tonight")
    refused = run_cli("send", str(jobs.ready), "--connection", CONNECTION, "--json")
    assert refused.returncode != 0
    assert "paused" in refused.stderr
    assert refused.stdout == ""  # never a "queued" result
    assert spectrum_emulator.requests == []
    history = run_cli("history")
    assert "Connection 'Main' is paused: Spectrum upgrade tonight" in history.stdout
    assert run_cli("connection", "resume", CONNECTION).returncode == 0
    sent = run_cli("send", str(jobs.ready), "--connection", CONNECTION, "--json")
    assert sent.returncode == 0, sent.stderr
    assert only_json(sent.stdout)["status"] == "sent"
