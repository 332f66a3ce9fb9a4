"""``st-spectrum send`` and ``st-spectrum history`` as scripts run them: exit codes, stdout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from cryptography.fernet import Fernet

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.store._models import Base
from servicetrade_spectrum.sync import SendService

from .conftest import SECRETS, RunCli, only_json

CONNECTION = "Main"  # what the `configured` fixture adds
SEND_KEYS = {"job_id", "connection", "status", "work_order_number", "fields", "warnings",
             "failure"}


def send_json(run_cli: RunCli, job_id: int, *options: str) -> tuple[int, dict[str, Any]]:
    """Run ``send --json``; stdout must be exactly one JSON object with the documented keys."""
    result = run_cli("send", str(job_id), "--connection", CONNECTION, "--json", *options)
    body = only_json(result.stdout)
    assert isinstance(body, dict), result.stdout
    assert set(body) == SEND_KEYS
    assert type(body["job_id"]) is int
    assert body["job_id"] == job_id
    assert body["connection"] == CONNECTION
    if body["failure"] is not None:
        assert set(body["failure"]) == {"kind", "message", "fix"}
        assert body["failure"]["message"]
        assert body["failure"]["fix"]
    return result.returncode, body


def comments(emulator: ServiceTradeEmulator, job_id: int) -> list[str]:
    return [c["content"] for c in emulator.comments(job_id)]


def work_order_calls(emulator: SpectrumEmulator) -> int:
    return sum(1 for r in emulator.requests if r.service == "WorkOrderHeader")


# -- sent ------------------------------------------------------------------------------------
def test_send_json_is_one_object_with_the_exact_job_id_and_spectrum_field_names(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    code, body = send_json(run_cli, jobs.ready)
    assert code == 0, body
    assert body["status"] == "sent"
    assert body["work_order_number"] == "T10002"
    assert body["failure"] is None
    assert {"WO_Number": "T10002", "WO_Reference_Code": "S", "Bill_Customer_Code": "MERCYGEN",
            "WO_Job_Number": "S10002", "Contract_Number": "SC26001",
            "WO_Job_Division": "SVC"}.items() <= body["fields"].items()
    assert jobs.ready > 2**51  # big enough that a float would lose digits
    stored = spectrum_emulator.work_order(seed.DEMO_COMPANY_CODE, "T10002")
    assert stored is not None
    assert stored["Bill_Customer_Code"] == "MERCYGEN"
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {"spectrum": "T10002"}
    assert comments(servicetrade_emulator, jobs.ready) == []


def test_send_prints_the_number_and_a_resend_preview_warns_of_fields_spectrum_keeps(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    job_id = jobs.ready_without_contract
    number = f"T{servicetrade_emulator.job(job_id)['number']}"
    sent = run_cli("send", str(job_id), "--connection", CONNECTION)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert f"work order {number}" in sent.stdout
    (first,) = configured.history(job_id=job_id)
    old_po = first.fields["Customer_PO_Number"]
    assert old_po

    servicetrade_emulator.update_job(job_id, customerPo="")
    calls = len(spectrum_emulator.requests)
    code, preview = send_json(run_cli, job_id, "--preview")
    assert code == 0
    assert preview["status"] == "preview"
    assert preview["work_order_number"] == number
    assert preview["fields"]["Customer_PO_Number"] == ""
    assert any(old_po in w and "Spectrum cannot clear" in w for w in preview["warnings"]), \
        preview["warnings"]
    assert len(spectrum_emulator.requests) == calls
    assert len(configured.history(job_id=job_id)) == 1


# -- preview ---------------------------------------------------------------------------------
def test_preview_sends_posts_and_records_nothing_and_reports_why_a_job_cannot_be_sent(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    code, preview = send_json(run_cli, jobs.ready, "--preview")
    assert code == 0
    assert preview["status"] == "preview"
    assert preview["work_order_number"] == "T10002"  # the number a send would use
    assert preview["fields"]["Bill_Customer_Code"] == "MERCYGEN"
    assert preview["failure"] is None

    cannot = run_cli("send", str(jobs.customer_not_mapped), "--connection", CONNECTION,
                     "--preview")
    assert cannot.returncode == 0, cannot.stdout + cannot.stderr
    assert "cannot be sent" in cannot.stdout
    assert "(customer_not_mapped)" in cannot.stdout
    assert "Fix: " in cannot.stdout

    assert spectrum_emulator.requests == []
    assert all(r.method == "GET" or r.path == "/api/auth" for r in servicetrade_emulator.requests)
    assert comments(servicetrade_emulator, jobs.ready) == []
    assert comments(servicetrade_emulator, jobs.customer_not_mapped) == []
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {}
    assert configured.history() == []


# -- failed ----------------------------------------------------------------------------------
def test_a_failed_send_exits_1_with_the_failure_object_and_comments_the_job(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    code, body = send_json(run_cli, jobs.customer_not_mapped)
    assert code == 1
    assert body["status"] == "failed"
    assert body["work_order_number"] is None
    assert body["failure"]["kind"] == "customer_not_mapped"
    assert "Birchwood Condominiums" in body["failure"]["message"]
    (comment,) = comments(servicetrade_emulator, jobs.customer_not_mapped)
    assert "Birchwood Condominiums" in comment
    assert spectrum_emulator.requests == []


def test_a_failed_send_prints_the_kind_spectrums_words_and_the_fix(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    result = run_cli("send", str(jobs.unknown_customer_code), "--connection", CONNECTION)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout
    assert "(rejected_by_spectrum)" in result.stdout
    assert "Customer GHOSTCO does not exist" in result.stdout  # Spectrum's own words
    (fix,) = [line for line in result.stdout.splitlines() if line.startswith("Fix: ")]
    assert len(fix) > len("Fix: ") + 10
    assert len(comments(servicetrade_emulator, jobs.unknown_customer_code)) == 1


def _wrong_authorization_id(store: Store, spectrum: SpectrumEmulator,
                            servicetrade: ServiceTradeEmulator) -> None:
    store.set_connection_secret(CONNECTION, authorization_id="wrongID42")


def _spectrum_down(store: Store, spectrum: SpectrumEmulator,
                   servicetrade: ServiceTradeEmulator) -> None:
    spectrum.inject("http_503", count=10)


def _servicetrade_down(store: Store, spectrum: SpectrumEmulator,
                       servicetrade: ServiceTradeEmulator) -> None:
    servicetrade.inject("http_503", count=50)


def _servicetrade_password_changed(store: Store, spectrum: SpectrumEmulator,
                                   servicetrade: ServiceTradeEmulator) -> None:
    servicetrade.set_password(seed.DEMO_USERNAME, "x")


def _nothing(store: Store, spectrum: SpectrumEmulator,
             servicetrade: ServiceTradeEmulator) -> None:
    pass


Setup = Callable[[Store, SpectrumEmulator, ServiceTradeEmulator], None]


@pytest.mark.parametrize(("job", "setup", "kind", "in_message", "comment_count"), [
    pytest.param("long_po", _nothing, "value_too_long", "31 characters", 1,
                 id="value_too_long"),
    pytest.param("ready", _wrong_authorization_id, "not_authorized", "not authorize", 1,
                 id="not_authorized"),
    pytest.param("ready", _spectrum_down, "spectrum_unreachable", "3 tries", 1,
                 id="spectrum_unreachable"),
    pytest.param("ready", _servicetrade_down, "servicetrade_unavailable", "ServiceTrade", 0,
                 id="servicetrade_unavailable"),
    pytest.param("ready", _servicetrade_password_changed, "authentication_failed",
                 "ServiceTrade", 0, id="authentication_failed"),
])
def test_each_failure_kind_through_the_command_line(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator, servicetrade_emulator: ServiceTradeEmulator,
        job: str, setup: Setup, kind: str, in_message: str, comment_count: int) -> None:
    job_id: int = getattr(jobs, job)
    setup(configured, spectrum_emulator, servicetrade_emulator)
    code, body = send_json(run_cli, job_id)
    assert code == 1, body
    assert body["status"] == "failed"
    assert body["failure"]["kind"] == kind
    assert in_message in body["failure"]["message"]
    servicetrade_emulator.faults.clear()
    assert len(comments(servicetrade_emulator, job_id)) == comment_count
    (attempt,) = configured.history(job_id=job_id)
    assert attempt.status == "failed"
    assert attempt.failure_kind == kind
    assert spectrum_emulator.work_orders() == []


# -- usage errors ----------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["{ready}", "--connection", "Nowhere"], "No connection named 'Nowhere'",
                 id="unknown-connection"),
    pytest.param(["42", "--connection", CONNECTION, "--json"], "no job with ID 42",
                 id="unknown-job"),
    pytest.param(["T10002", "--connection", CONNECTION], "Invalid value for 'job_id'",
                 id="job-id-not-integer"),
    pytest.param(["{ready}"], "--connection", id="connection-missing"),
])
def test_send_usage_errors_exit_2_and_send_nothing(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator, servicetrade_emulator: ServiceTradeEmulator,
        args: list[str], message: str) -> None:
    result = run_cli("send", *(a.format(ready=jobs.ready) for a in args))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert spectrum_emulator.requests == []
    assert configured.history() == []


# -- two sends at the same moment ------------------------------------------------------------
def test_two_sends_of_one_job_at_the_same_moment_make_one_work_order_call(
        start_cli: Callable[[Sequence[str]], Popen[str]], configured: Store,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    spectrum_emulator.settings.latency_ms = 500
    args = ["send", str(jobs.ready), "--connection", CONNECTION, "--json"]
    processes = [start_cli(args), start_cli(args)]
    outputs = [p.communicate(timeout=60) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out + err
    bodies = [only_json(out) for out, _ in outputs]
    assert [b["status"] for b in bodies] == ["sent", "sent"]
    assert {b["work_order_number"] for b in bodies} == {"T10002"}
    assert work_order_calls(spectrum_emulator) == 1
    assert len(configured.history(job_id=jobs.ready)) == 1
    assert comments(servicetrade_emulator, jobs.ready) == []


# -- history ---------------------------------------------------------------------------------
def test_history_json_lists_attempts_newest_first_with_spectrums_words(
        run_cli: RunCli, sender: SendService, jobs: seed.NotableJobs) -> None:
    assert sender.send(jobs.ready, CONNECTION).status == "sent"
    assert sender.send(jobs.unknown_customer_code, CONNECTION).status == "failed"

    everything = run_cli("history", "--json")
    assert everything.returncode == 0, everything.stderr
    rejected, sent = only_json(everything.stdout)
    for attempt in (rejected, sent):
        assert {"job_id", "connection", "time", "status", "work_order_number",
                "failure_kind", "spectrum_message"} <= set(attempt)
        assert type(attempt["job_id"]) is int
        assert attempt["connection"] == CONNECTION
        datetime.fromisoformat(attempt["time"])
    assert datetime.fromisoformat(rejected["time"]) >= datetime.fromisoformat(sent["time"])
    assert (rejected["job_id"], rejected["status"], rejected["work_order_number"],
            rejected["failure_kind"]) == (jobs.unknown_customer_code, "failed", None,
                                          "rejected_by_spectrum")
    assert "Customer GHOSTCO does not exist" in rejected["spectrum_message"]
    assert (sent["job_id"], sent["status"], sent["work_order_number"],
            sent["failure_kind"]) == (jobs.ready, "sent", "T10002", None)

    one_job = run_cli("history", "--job", str(jobs.unknown_customer_code))
    assert one_job.returncode == 0, one_job.stderr
    assert str(jobs.unknown_customer_code) in one_job.stdout
    assert "Customer GHOSTCO does not exist" in one_job.stdout
    assert str(jobs.ready) not in one_job.stdout
    assert "T10002" not in one_job.stdout


# -- secrets ---------------------------------------------------------------------------------
def test_set_up_and_send_through_the_cli_with_no_secret_in_any_output_or_the_database(
        run_cli: RunCli, store: Store, jobs: seed.NotableJobs, servicetrade_url: str,
        spectrum_url: str, spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.enhanced_auth = True
    results = [
        run_cli("account", "add", "Northwind", "--servicetrade-url", servicetrade_url,
                "--username", seed.DEMO_USERNAME),
        run_cli("connection", "add", CONNECTION, "--account", "Northwind", "--url",
                spectrum_url + "/", "--company-code", seed.DEMO_COMPANY_CODE, "--prefix", "T",
                "--work-order-type", "SVC", "--lead-source", "REFERRAL",
                "--client-id", seed.DEMO_CLIENT_ID, "--preserve-edits"),
        run_cli("send", str(jobs.ready), "--connection", CONNECTION, "--json"),
        run_cli("send", str(jobs.unknown_customer_code), "--connection", CONNECTION),
    ]
    store.update_connection(CONNECTION, paused=True, pause_reason="paused by the test")
    results += [run_cli("connection", "list", "--json"), run_cli("history", "--json")]
    assert [r.returncode for r in results] == [0, 0, 0, 1, 0, 0], [
        r.stdout + r.stderr for r in results]
    assert "Northwind" in results[0].stdout
    assert f"Connection '{CONNECTION}' added" in results[1].stdout
    assert only_json(results[2].stdout)["work_order_number"] == "T10002"
    assert spectrum_emulator.token_requests  # the client secret was really used

    (listed,) = only_json(results[4].stdout)
    assert {k: listed[k] for k in ("name", "account", "url", "company_code", "system",
                                   "prefix", "work_order_type", "lead_source",
                                   "preserve_edits", "client_id", "paused",
                                   "pause_reason")} == {
        "name": CONNECTION, "account": "Northwind", "url": spectrum_url,
        "company_code": seed.DEMO_COMPANY_CODE, "system": "spectrum",  # the default
        "prefix": "T", "work_order_type": "SVC", "lead_source": "REFERRAL",
        "preserve_edits": True, "client_id": seed.DEMO_CLIENT_ID, "paused": True,
        "pause_reason": "paused by the test"}
    assert len(only_json(results[5].stdout)) == 2

    for result in results:
        for secret in SECRETS:
            assert secret not in result.stdout
            assert secret not in result.stderr
    with store.engine.connect() as connection:
        dump = "\n".join(str(row) for table in Base.metadata.sorted_tables
                         for row in connection.execute(table.select()))
    assert "T10002" in dump
    for secret in SECRETS:
        assert secret not in dump
    if store.engine.dialect.name == "sqlite":
        database = Path(store.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert raw
        for secret in SECRETS:
            assert secret.encode() not in raw


def test_a_secret_key_that_cannot_decrypt_stops_with_exit_2(
        run_cli: RunCli, configured: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator) -> None:
    wrong = {"ST_SPECTRUM_SECRET_KEYS": Fernet.generate_key().decode()}
    result = run_cli("send", str(jobs.ready), "--connection", CONNECTION, "--json", env=wrong)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot decrypt" in result.stderr
    assert "ST_SPECTRUM_SECRET_KEYS" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert spectrum_emulator.requests == []
    assert configured.history() == []
