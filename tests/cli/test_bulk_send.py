"""``st-spectrum bulk-send`` and ``st-spectrum retry-failed`` as users run them: a real
subprocess, both emulators over HTTP, and a database of the test's own (these commands run
DBOS, whose tables must not be shared between tests)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from servicetrade_spectrum.cli.bulk import read_job_ids, selection_key
from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, SendService

CONNECTION = "Main"
ACCOUNT = "Northwind"
SUMMARY_KEYS = {"connection", "matched", "sent", "failed", "skipped", "failures"}
UNKNOWN_JOB = 3100000000999999


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("st-spectrum")
    return [str(script)] if script.exists() else [sys.executable, "-m", "servicetrade_spectrum"]


@pytest.fixture
def env(durable_settings: Settings, durable_store: Store,
        subprocess_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    """A subprocess environment on the test's home and database, with fast retries."""
    return subprocess_env(durable_settings)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """stdout is exactly one JSON object with the documented keys."""
    try:
        body = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not one JSON object: {result.stdout!r}\n"
                             f"stderr: {result.stderr}") from None
    assert isinstance(body, dict), result.stdout
    assert set(body) == SUMMARY_KEYS, body
    for failure in body["failures"]:
        assert set(failure) == {"job_id", "kind", "message"}
        assert type(failure["job_id"]) is int
        assert failure["kind"]
        assert failure["message"]
    return body


def id_file(tmp_path: Path, job_ids: list[int], name: str = "jobs.txt") -> Path:
    path = tmp_path / name
    path.write_text("# jobs to send\n\n" + "\n".join(f"{j}  # a job" if i % 2 else str(j)
                                                      for i, j in enumerate(job_ids)) + "\n")
    return path


def external_id_writes(emulator: ServiceTradeEmulator) -> Counter[int]:
    """Job ID -> POST/PUT calls that set its ``spectrum`` external ID."""
    pattern = re.compile(r"/externalid/job/(\d+)/spectrum$")
    writes: Counter[int] = Counter()
    for request in emulator.requests:
        match = pattern.search(request.path)
        if match and request.method in ("POST", "PUT"):
            writes[int(match.group(1))] += 1
    return writes


def work_order_calls(emulator: SpectrumEmulator) -> Counter[str]:
    """WO number -> WorkOrderHeader calls that carried it."""
    calls: Counter[str] = Counter()
    for request in emulator.requests:
        if request.service == "WorkOrderHeader":
            match = re.search(r"WO_Number>([^<]+)<", request.body)
            if match:
                calls[match.group(1)] += 1
    return calls


def sendable_jobs(store: Store, settings: Settings, count: int) -> list[int]:
    """Seed jobs that send cleanly (their preview names no failure)."""
    clients = ClientPool(settings)
    sender = SendService(store, clients)
    chosen: list[int] = []
    try:
        for job in seed.servicetrade_state()["jobs"]:
            if sender.preview(job["id"], CONNECTION).failure is None:
                chosen.append(job["id"])
                if len(chosen) == count:
                    return chosen
    finally:
        clients.close()
    raise AssertionError("the seed has too few sendable jobs")


# -- pure parts ------------------------------------------------------------------------------
def test_job_ids_file_skips_blank_lines_comments_and_repeats(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("# header\n\n12\n  34  # second\n12\n\n# end\n")
    assert read_job_ids(path) == [12, 34]


def test_the_same_selection_has_the_same_key_whatever_the_order() -> None:
    assert (selection_key("Main", ["completed"], None, [2, 1])
            == selection_key("Main", ["completed"], None, [1, 2]))
    assert selection_key("Main", [], None, [1]) != selection_key("Other", [], None, [1])
    assert (selection_key("Main", ["completed"], "2026-01-01", None)
            != selection_key("Main", ["completed"], None, None))


def test_usage_errors_exit_2_naming_the_fix(env: dict[str, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from servicetrade_spectrum.cli import app

    def invoke(*args: str) -> Any:  # in-process: these stop before anything is sent
        return CliRunner().invoke(app, list(args), env=env)

    nothing = invoke("bulk-send", "--connection", CONNECTION)
    assert nothing.exit_code == 2
    assert "--status" in nothing.output
    assert "--job-ids" in nothing.output
    bad = tmp_path / "bad.txt"
    bad.write_text("123\nT10002\n")
    wrong = invoke("bulk-send", "--connection", CONNECTION, "--job-ids", str(bad))
    assert wrong.exit_code == 2
    assert "line 2" in wrong.output
    assert "T10002" in wrong.output
    unknown = invoke("bulk-send", "--connection", "Nope", "--status", "completed")
    assert unknown.exit_code == 2
    assert "Nope" in unknown.output
    assert invoke("bulk-send", "--connection", CONNECTION, "--since", "04/05/2026"
                  ).exit_code == 2
    assert invoke("retry-failed", "--connection", "Nope").exit_code == 2


# -- through the emulators -------------------------------------------------------------------
def test_bulk_send_by_job_ids_file_sends_each_and_lists_failures_with_their_kinds(
        env: dict[str, str], tmp_path: Path, jobs: seed.NotableJobs, durable_store: Store,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    good = [jobs.ready, jobs.ready_without_contract, jobs.unmapped_contract]
    bad = [jobs.customer_not_mapped, jobs.site_not_mapped]
    path = id_file(tmp_path, [*good, *bad, UNKNOWN_JOB])
    result = run(env, "bulk-send", "--connection", CONNECTION, "--job-ids", str(path), "--json")
    assert result.returncode == 1, result.stderr
    body = summary(result)
    assert body["connection"] == CONNECTION
    assert (body["matched"], body["sent"], body["failed"], body["skipped"]) == (6, 3, 3, 0)
    kinds = {f["job_id"]: f["kind"] for f in body["failures"]}
    assert kinds == {jobs.customer_not_mapped: "customer_not_mapped",
                     jobs.site_not_mapped: "site_not_mapped", UNKNOWN_JOB: "job_not_found"}
    assert "retry-failed --connection Main" in result.stderr
    for job_id in good:  # each external ID written as its send finished
        number = f"T{servicetrade_emulator.job(job_id)['number']}"
        assert servicetrade_emulator.external_ids("job", job_id) == {"spectrum": number}
        assert spectrum_emulator.work_order(seed.DEMO_COMPANY_CODE, number) is not None
    history = durable_store.history(connection_id=durable_store.connection(CONNECTION).id)
    assert {a.job_id for a in history} == {*good, *bad}
    assert {a.trigger for a in history} == {"bulk"}


def test_bulk_send_by_status_and_since_sends_only_the_matching_jobs(
        env: dict[str, str], durable_store: Store, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    day = datetime(2026, 4, 5, tzinfo=UTC)
    expected = {j["id"] for j in seed.servicetrade_state()["jobs"]
                if j["status"] == "completed" and j["updated"] >= day.timestamp()}
    assert 3 <= len(expected) <= 12
    result = run(env, "bulk-send", "--connection", CONNECTION, "--status", "completed",
                 "--since", "2026-04-05", "--json")
    body = summary(result)
    assert body["matched"] == len(expected)
    assert body["sent"] + body["failed"] == len(expected)
    assert result.returncode == (1 if body["failed"] else 0)
    history = durable_store.history(connection_id=durable_store.connection(CONNECTION).id)
    assert {a.job_id for a in history} == expected
    assert len(history) == len(expected)
    assert set(external_id_writes(servicetrade_emulator)) <= expected


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGKILL],
                         ids=["ctrl-c", "killed"])
def test_interrupted_bulk_send_stops_quickly_and_a_rerun_sends_every_job_exactly_once(
        stop_signal: signal.Signals, env: dict[str, str], tmp_path: Path,
        durable_settings: Settings, durable_store: Store,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    # More jobs than a Ctrl-C lets finish: the 3 sent, plus the up to 4 x 3 under way that
    # it lets end (each waits for one of Spectrum's 3 slots).
    job_ids = sendable_jobs(durable_store, durable_settings, 30)
    numbers = {j: f"T{servicetrade_emulator.job(j)['number']}" for j in job_ids}
    path = id_file(tmp_path, job_ids)
    spectrum_emulator.settings.latency_ms = 300
    first = subprocess.Popen([*cli_command(), "bulk-send", "--connection", CONNECTION,
                              "--job-ids", str(path), "--json"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while sum(external_id_writes(servicetrade_emulator).values()) < 3:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "no send finished in 30 s"
            time.sleep(0.02)
        interrupted_at = time.monotonic()
        first.send_signal(stop_signal)
        out, err = first.communicate(timeout=20)
        stopped_in = time.monotonic() - interrupted_at
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode != 0, err
    assert stopped_in < 15
    sent_first = len(external_id_writes(servicetrade_emulator))
    assert sent_first < len(job_ids), "interrupted too late to test resuming"
    if stop_signal == signal.SIGINT:  # a summary of what finished, and how to resume
        assert "Run the same command again to resume" in err
        assert summary(subprocess.CompletedProcess([], 1, out, err))["sent"] == sent_first
    # Called, not concluded (in flight when it stopped): may be called again on resume.
    in_flight = set(work_order_calls(spectrum_emulator)) - {
        numbers[j] for j in external_id_writes(servicetrade_emulator)}

    second = run(env, "bulk-send", "--connection", CONNECTION, "--job-ids", str(path), "--json")
    assert second.returncode == 0, second.stderr
    body = summary(second)
    assert body["matched"] == len(job_ids)
    assert body["failed"] == 0
    assert body["sent"] + body["skipped"] == len(job_ids)
    if stop_signal == signal.SIGINT:  # sends under way finished before it stopped
        assert body["skipped"] >= sent_first
    else:  # a send killed after its write-back is finished by the rerun (not written twice)
        assert body["skipped"] <= sent_first

    mine = set(numbers.values())
    stored = [w for w in spectrum_emulator.work_orders() if w["WO_Number"] in mine]
    assert sorted(w["WO_Number"] for w in stored) == sorted(mine)
    assert external_id_writes(servicetrade_emulator) == Counter(dict.fromkeys(job_ids, 1))
    calls = work_order_calls(spectrum_emulator)
    for number in mine:
        assert calls[number] <= (2 if number in in_flight else 1), (number, calls)
    assert spectrum_emulator.max_in_flight <= 3  # the per-connection limit held
    history = durable_store.history(connection_id=durable_store.connection(CONNECTION).id)
    assert Counter(a.job_id for a in history) == Counter(dict.fromkeys(job_ids, 1))
    assert {a.status for a in history} == {"sent"}

    # Finished: the same command again is a new run (a fresh pass over the same jobs).
    assert durable_store.unfinished_bulk_run(
        durable_store.connection(CONNECTION).id,
        selection_key(CONNECTION, [], None, job_ids)) is None


def test_retry_failed_sends_again_the_jobs_whose_latest_send_failed_once_fixed(
        env: dict[str, str], tmp_path: Path, jobs: seed.NotableJobs, durable_store: Store,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    path = id_file(tmp_path, [jobs.ready, jobs.site_not_mapped])
    first = run(env, "bulk-send", "--connection", CONNECTION, "--job-ids", str(path))
    assert first.returncode == 1
    assert "2 jobs matched, 1 sent, 1 failed." in first.stdout
    assert "site_not_mapped" in first.stdout
    assert "Fix: " in first.stdout
    assert "Sending to 'Main'" in first.stderr  # the progress bar

    # The user maps the job's location to its Spectrum site in ServiceTrade.
    location = servicetrade_emulator.job(jobs.site_not_mapped)["location"]
    site = next(s for s in spectrum_emulator.sites(seed.DEMO_COMPANY_CODE)
                if s["Site_Address1"] == location["address"]["street"])
    servicetrade_emulator.account.set_external_id("location", location["id"], "spectrum",
                                                  site["Site_ID"], replace=True)

    retried = run(env, "retry-failed", "--connection", CONNECTION)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "Retried 1 failed jobs on 'Main': 1 sent, 0 failed again." in retried.stdout
    number = f"T{servicetrade_emulator.job(jobs.site_not_mapped)['number']}"
    assert servicetrade_emulator.external_ids("job", jobs.site_not_mapped) == {
        "spectrum": number}
    latest = durable_store.last_attempt(durable_store.connection(CONNECTION).id,
                                        jobs.site_not_mapped)
    assert latest is not None
    assert (latest.status, latest.trigger) == ("sent", "retry")
    ready_number = f"T{servicetrade_emulator.job(jobs.ready)['number']}"
    assert work_order_calls(spectrum_emulator)[ready_number] == 1  # not sent again

    done = run(env, "retry-failed", "--connection", CONNECTION, "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["retried"] == 0  # nothing left to retry
