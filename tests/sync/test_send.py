"""Send Job to Spectrum end to end: real HTTP to both emulators, a real database.

Each test is one row of the reference page's tables (send-job-to-spectrum.md).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain import FailureKind
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.spectrum import SpectrumClient, clean_text
from servicetrade_spectrum.store import SecretKeyMismatch, Store
from servicetrade_spectrum.store._models import Base
from servicetrade_spectrum.sync import ClientPool, ConnectionPaused, JobNotFound, SendService

NotableJobs = seed.NotableJobs
CONNECTION = "Main"  # the connection the `configured` fixture adds


def external_id_writes(emulator: ServiceTradeEmulator, job_id: int) -> int:
    return sum(1 for r in emulator.requests if r.method in ("POST", "PUT")
               and r.path.endswith(f"/externalid/job/{job_id}/spectrum"))


def comments(emulator: ServiceTradeEmulator, job_id: int) -> list[str]:
    return [c["content"] for c in emulator.comments(job_id)]


# -- one send, field by field --------------------------------------------------------------
def test_a_mapped_job_becomes_a_work_order_and_the_number_is_written_back(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    result = sender.send(jobs.ready, CONNECTION)
    assert result.status == "sent", result.failure
    assert result.work_order_number == "T10002"
    stored = spectrum_emulator.work_order("1", "T10002")
    assert stored is not None
    assert stored["WO_Reference_Code"] == "S"
    assert stored["Bill_Customer_Code"] == "MERCYGEN"
    assert stored["WO_Job_Number"] == "S10002"
    assert stored["Contract_Number"] == "SC26001"
    assert stored["WO_Job_Division"] == "SVC"
    assert stored["Summary_Description"].startswith("Fire extinguisher annual maintenance")
    assert servicetrade_emulator.external_ids("job", jobs.ready)["spectrum"] == "T10002"
    assert comments(servicetrade_emulator, jobs.ready) == []

    (attempt,) = store.history(job_id=jobs.ready)
    assert attempt.status == "sent"
    assert attempt.work_order_number == "T10002"
    assert attempt.fields["WO_Number"] == "T10002"
    assert attempt.external_id_written
    assert "<WO_Number>T10002</WO_Number>" in attempt.request_body
    assert seed.DEMO_AUTHORIZATION_ID not in attempt.request_body
    assert attempt.response_body
    assert attempt.duration_ms is not None


def test_a_send_reads_company_location_and_contract_in_one_round_trip(
        sender: SendService, jobs: NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    # Each read is held for a second, so read one after another they could not overlap; the
    # check is on order, not on timing, and a stalled thread does not fail it.
    for entity in ("company", "location", "contract"):
        servicetrade_emulator.inject("slow", path_prefix=f"/{entity}", method="GET", delay=1.0)
    assert sender.send(jobs.ready, CONNECTION).status == "sent"
    reads = [r for r in servicetrade_emulator.requests
             if r.method == "GET" and r.path.split("/")[2] in ("company", "location", "contract")]
    assert len(reads) == 3
    assert max(r.time for r in reads) < min(r.answered for r in reads)  # all in flight at once


def test_resend_updates_the_same_work_order_overwriting_a_manual_change(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, spectrum_url: str) -> None:
    assert sender.send(jobs.ready, CONNECTION).status == "sent"
    with SpectrumClient(spectrum_url, authorization_id=seed.DEMO_AUTHORIZATION_ID,
                        company_code="1") as office:  # someone edits the work order
        office.work_order_header({"WO_Number": "T10002", "WO_Reference_Code": "S",
                                  "WO_Job_Number": "S10002",
                                  "Summary_Description": "Edited in Spectrum"})
    again = sender.send(jobs.ready, CONNECTION)
    assert again.status == "sent"
    stored = spectrum_emulator.work_order("1", "T10002")
    assert stored is not None
    assert stored["Summary_Description"].startswith("Fire extinguisher")
    assert len(spectrum_emulator.work_orders()) == 1
    assert external_id_writes(servicetrade_emulator, jobs.ready) == 1  # not written again


def test_preserve_edits_keeps_a_manual_change_of_an_unchanged_field(
        sender: SendService, store: Store, jobs: NotableJobs,
        spectrum_emulator: SpectrumEmulator, servicetrade_emulator: ServiceTradeEmulator,
        spectrum_url: str) -> None:
    store.update_connection(CONNECTION, preserve_edits=True)
    assert sender.send(jobs.ready, CONNECTION).status == "sent"
    with SpectrumClient(spectrum_url, authorization_id=seed.DEMO_AUTHORIZATION_ID,
                        company_code="1") as office:
        office.work_order_header({"WO_Number": "T10002", "WO_Reference_Code": "S",
                                  "WO_Job_Number": "S10002",
                                  "Summary_Description": "Edited in Spectrum"})
    servicetrade_emulator.update_job(jobs.ready, customerPo="PO-NEW")
    result = sender.send(jobs.ready, CONNECTION)
    assert result.fields["Summary_Description"] == ""
    assert result.fields["WO_Job_Number"] == "S10002"  # required: always sent
    stored = spectrum_emulator.work_order("1", "T10002")
    assert stored is not None
    assert stored["Summary_Description"] == "Edited in Spectrum"
    assert stored["Customer_PO_Number"] == "PO-NEW"


def test_a_contract_present_but_unmapped_is_sent_blank(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator) -> None:
    result = sender.send(jobs.unmapped_contract, CONNECTION)
    assert result.status == "sent"
    assert result.fields["Contract_Number"] == ""
    stored = spectrum_emulator.work_order("1", result.work_order_number or "")
    assert stored is not None
    assert stored.get("Contract_Number", "") == ""


def test_a_long_summary_is_cut_at_250_and_the_send_succeeds_with_a_warning(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        store: Store) -> None:
    result = sender.send(jobs.long_summary, CONNECTION)
    assert result.status == "sent"
    assert len(result.fields["Summary_Description"]) <= 250
    assert any("Spectrum keeps the first 250" in w for w in result.warnings)
    stored = spectrum_emulator.work_order("1", "T10003")
    assert stored is not None
    assert stored["Summary_Description"] == result.fields["Summary_Description"]
    assert store.history(job_id=jobs.long_summary)[0].warnings == result.warnings


def test_xml_special_and_control_characters_arrive_escaped_and_clean(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    job = servicetrade_emulator.job(jobs.special_characters)
    result = sender.send(jobs.special_characters, CONNECTION)
    assert result.status == "sent", result.failure
    stored = spectrum_emulator.work_order("1", result.work_order_number or "")
    assert stored is not None
    assert stored["Summary_Description"] == clean_text(job["description"]).strip()
    assert "\x07" not in stored["Summary_Description"]
    assert stored["Customer_PO_Number"] == 'A&B<7>"q"'
    body = store.history(job_id=jobs.special_characters)[0].request_body
    assert "A&amp;B&lt;7&gt;" in body


# -- when a send fails ---------------------------------------------------------------------
def test_customer_not_mapped_comments_the_fix_and_calls_nothing(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    result = sender.send(jobs.customer_not_mapped, CONNECTION)
    assert result.status == "failed"
    assert result.failure is not None
    assert result.failure.kind is FailureKind.CUSTOMER_NOT_MAPPED
    assert spectrum_emulator.requests == []
    (comment,) = comments(servicetrade_emulator, jobs.customer_not_mapped)
    assert "Birchwood Condominiums" in comment
    assert "external ID for 'spectrum'" in comment
    attempt = store.history(job_id=jobs.customer_not_mapped)[0]
    assert attempt.failure_kind == "customer_not_mapped"
    assert attempt.comment_posted


def test_site_not_mapped(sender: SendService, jobs: NotableJobs,
                         servicetrade_emulator: ServiceTradeEmulator) -> None:
    result = sender.send(jobs.site_not_mapped, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.SITE_NOT_MAPPED
    assert "site ID" in comments(servicetrade_emulator, jobs.site_not_mapped)[0]


def test_work_order_number_too_long(sender: SendService, jobs: NotableJobs,
                                    servicetrade_emulator: ServiceTradeEmulator,
                                    spectrum_emulator: SpectrumEmulator) -> None:
    servicetrade_emulator.update_job(jobs.ready, number=1234567890)
    result = sender.send(jobs.ready, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.WORK_ORDER_NUMBER_TOO_LONG
    assert "T1234567890" in result.failure.message
    assert spectrum_emulator.requests == []


def test_a_31_character_po_is_refused_before_spectrum(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    result = sender.send(jobs.long_po, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.VALUE_TOO_LONG
    assert "31 characters" in result.failure.message
    assert "at most 25" in result.failure.message
    assert spectrum_emulator.requests == []
    assert "customer PO" in comments(servicetrade_emulator, jobs.long_po)[0]


def test_several_rejected_rows_are_reported_together(
        sender: SendService, jobs: NotableJobs, servicetrade_emulator: ServiceTradeEmulator,
        store: Store) -> None:
    result = sender.send(jobs.unknown_customer_code, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.REJECTED_BY_SPECTRUM
    (comment,) = comments(servicetrade_emulator, jobs.unknown_customer_code)
    assert "GHOSTCO" in comment
    assert "S10049" in comment
    assert "company 'Ghost Property Partners'" in comment
    attempt = store.history(job_id=jobs.unknown_customer_code)[0]
    assert {row["column"] for row in attempt.spectrum_rows} == {"Bill_Customer_Code",
                                                                "WO_Job_Number"}
    assert "GHOSTCO" in attempt.spectrum_message


def test_a_wrong_authorization_id_is_not_authorized_with_the_setup_fix(
        sender: SendService, store: Store, jobs: NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    store.set_connection_secret(CONNECTION, authorization_id="wrongID42")
    result = sender.send(jobs.ready, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.NOT_AUTHORIZED
    assert "WorkOrderHeader" in result.failure.fix
    assert "Active" in result.failure.fix
    assert "not authorized" in comments(servicetrade_emulator, jobs.ready)[0].lower()
    assert "wrongID42" not in store.history(job_id=jobs.ready)[0].response_body


def test_transient_faults_are_retried_then_succeed(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    spectrum_emulator.inject("server_fault", count=2)
    result = sender.send(jobs.ready, CONNECTION)
    assert result.status == "sent"
    assert store.history(job_id=jobs.ready)[0].tries == 3
    assert len(spectrum_emulator.work_orders()) == 1
    assert comments(servicetrade_emulator, jobs.ready) == []


def test_spectrum_down_for_every_try_fails_once_with_one_comment(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    spectrum_emulator.inject("http_503", count=10)
    result = sender.send(jobs.ready, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.SPECTRUM_UNREACHABLE
    assert "3 tries" in result.failure.message
    assert len(comments(servicetrade_emulator, jobs.ready)) == 1
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {}
    assert store.history(job_id=jobs.ready)[0].tries == 3


def test_the_same_failure_again_does_not_comment_twice(
        sender: SendService, jobs: NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    sender.send(jobs.customer_not_mapped, CONNECTION)
    sender.send(jobs.customer_not_mapped, CONNECTION)
    assert len(comments(servicetrade_emulator, jobs.customer_not_mapped)) == 1
    latest, first = store.history(job_id=jobs.customer_not_mapped)
    assert first.comment_posted
    assert not latest.comment_posted


def test_servicetrade_briefly_unavailable_is_retried(
        sender: SendService, jobs: NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    servicetrade_emulator.inject("http_503", path_prefix="/job", count=2)
    assert sender.send(jobs.ready, CONNECTION).status == "sent"


def test_servicetrade_down_waits_in_the_history_without_a_comment(
        sender: SendService, jobs: NotableJobs, servicetrade_emulator: ServiceTradeEmulator,
        spectrum_emulator: SpectrumEmulator, store: Store) -> None:
    servicetrade_emulator.inject("http_503", count=50)
    result = sender.send(jobs.ready, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.SERVICETRADE_UNAVAILABLE
    assert spectrum_emulator.requests == []
    servicetrade_emulator.faults.clear()
    assert comments(servicetrade_emulator, jobs.ready) == []
    (attempt,) = store.history(job_id=jobs.ready)
    assert attempt.failure_kind == "servicetrade_unavailable"
    assert not attempt.comment_posted


def test_servicetrade_refusing_the_login_is_authentication_failed(
        sender: SendService, jobs: NotableJobs, servicetrade_emulator: ServiceTradeEmulator,
        spectrum_emulator: SpectrumEmulator) -> None:
    servicetrade_emulator.set_password(seed.DEMO_USERNAME, "changed-by-admin")
    result = sender.send(jobs.ready, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.AUTHENTICATION_FAILED
    assert "ServiceTrade" in result.failure.message
    assert spectrum_emulator.requests == []


def test_spectrum_refusing_the_client_secret_is_authentication_failed(
        sender: SendService, store: Store, jobs: NotableJobs,
        spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.enhanced_auth = True
    store.update_connection(CONNECTION, client_id=seed.DEMO_CLIENT_ID)
    store.set_connection_secret(CONNECTION, client_secret="expired-secret")
    result = sender.send(jobs.ready, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.AUTHENTICATION_FAILED
    assert "client secret" in result.failure.fix


def test_enhanced_authentication_sends(sender: SendService, store: Store, jobs: NotableJobs,
                                       spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.enhanced_auth = True
    store.update_connection(CONNECTION, client_id=seed.DEMO_CLIENT_ID)
    store.set_connection_secret(CONNECTION, client_secret=seed.DEMO_CLIENT_SECRET)
    assert sender.send(jobs.ready, CONNECTION).status == "sent"


def test_an_unknown_job_is_a_usage_error_and_records_nothing(
        sender: SendService, store: Store) -> None:
    with pytest.raises(JobNotFound, match="no job with ID 42"):
        sender.send(42, CONNECTION)
    assert store.history() == []


# -- concurrency ---------------------------------------------------------------------------
def test_two_concurrent_sends_of_one_job_make_one_call_and_one_attempt(
        configured: Store, settings: Settings, jobs: NotableJobs,
        spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.latency_ms = 300
    results = []

    def send() -> None:
        clients = ClientPool(settings)  # as two separate processes would
        results.append(SendService(configured, clients, poll_interval=0.02)
                       .send(jobs.ready, CONNECTION))
        clients.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in results] == ["sent", "sent"]
    assert sorted(r.joined for r in results) == [False, True]
    assert len(spectrum_emulator.requests) == 1
    assert len(configured.history(job_id=jobs.ready)) == 1


# -- preview -------------------------------------------------------------------------------
def test_preview_sends_posts_and_records_nothing(
        sender: SendService, jobs: NotableJobs, spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator, store: Store) -> None:
    result = sender.preview(jobs.ready, CONNECTION)
    assert result.status == "preview"
    assert result.work_order_number == "T10002"
    assert result.fields["Bill_Customer_Code"] == "MERCYGEN"
    assert spectrum_emulator.requests == []
    assert all(r.method == "GET" or r.path == "/api/auth"
               for r in servicetrade_emulator.requests)
    assert store.history() == []


def test_preview_of_an_unsendable_job_reports_the_failure_kind(
        sender: SendService, jobs: NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    result = sender.preview(jobs.site_not_mapped, CONNECTION)
    assert result.failure is not None
    assert result.failure.kind is FailureKind.SITE_NOT_MAPPED
    assert comments(servicetrade_emulator, jobs.site_not_mapped) == []


def test_resend_preview_warns_of_overwrites_and_of_fields_spectrum_keeps(
        sender: SendService, jobs: NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    assert sender.send(jobs.ready_without_contract, CONNECTION).status == "sent"
    servicetrade_emulator.update_job(jobs.ready_without_contract, customerPo="")
    result = sender.preview(jobs.ready_without_contract, CONNECTION)
    assert any("overwrites" in w for w in result.warnings)
    assert any("PO-51294" in w and "Spectrum cannot clear" in w for w in result.warnings)


# -- secrets -------------------------------------------------------------------------------
def test_secrets_are_not_in_the_database_in_plaintext(
        sender: SendService, store: Store, jobs: NotableJobs, settings: Settings,
        spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.enhanced_auth = True
    store.update_connection(CONNECTION, client_id=seed.DEMO_CLIENT_ID)
    store.set_connection_secret(CONNECTION, client_secret=seed.DEMO_CLIENT_SECRET)
    sender.send(jobs.ready, CONNECTION)
    sender.send(jobs.unknown_customer_code, CONNECTION)
    secrets = [seed.DEMO_AUTHORIZATION_ID, seed.DEMO_PASSWORD, seed.DEMO_CLIENT_SECRET]
    with store.engine.connect() as connection:
        dump = "\n".join(str(row) for table in Base.metadata.sorted_tables
                         for row in connection.execute(table.select()))
    assert dump
    for secret in secrets:
        assert secret not in dump
    if store.engine.dialect.name == "sqlite":
        database_file = Path(store.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in database_file.parent.glob(
            database_file.name + "*"))
        for secret in secrets:
            assert secret.encode() not in raw


def test_a_key_that_cannot_decrypt_stops_with_a_clear_message(
        configured: Store, settings: Settings) -> None:
    wrong = settings.model_copy(
        update={"secret_keys": SecretStr(Fernet.generate_key().decode())})
    reopened = Store.open(wrong)
    try:
        with pytest.raises(SecretKeyMismatch, match="cannot decrypt"):
            reopened.connection(CONNECTION)
    finally:
        reopened.close()


# -- pausing -------------------------------------------------------------------------------
def test_five_not_authorized_failures_in_a_row_pause_the_connection(
        sender: SendService, store: Store, jobs: NotableJobs,
        spectrum_emulator: SpectrumEmulator) -> None:
    store.set_connection_secret(CONNECTION, authorization_id="wrongID42")
    job_ids = [jobs.ready, jobs.ready_without_contract, jobs.unmapped_contract,
               jobs.long_summary, jobs.special_characters]
    for n, job_id in enumerate(job_ids, start=1):
        assert sender.send(job_id, CONNECTION).failure is not None
        assert store.connection(CONNECTION).paused is (n == 5)
    assert len(spectrum_emulator.requests) == 5  # the 5th send still reached Spectrum
    assert "not authorized" in store.connection(CONNECTION).pause_reason
    with pytest.raises(ConnectionPaused, match="paused"):
        sender.send(jobs.ready, CONNECTION)
    assert len(spectrum_emulator.requests) == 5  # nothing sent while paused
    store.update_connection(CONNECTION, paused=False, pause_reason="")
    store.set_connection_secret(CONNECTION, authorization_id=seed.DEMO_AUTHORIZATION_ID)
    assert sender.send(jobs.ready, CONNECTION).status == "sent"


def test_a_success_between_failures_resets_the_count(
        sender: SendService, store: Store, jobs: NotableJobs) -> None:
    store.set_connection_secret(CONNECTION, authorization_id="wrongID42")
    for job_id in (jobs.ready, jobs.ready_without_contract, jobs.unmapped_contract):
        sender.send(job_id, CONNECTION)
    store.set_connection_secret(CONNECTION, authorization_id=seed.DEMO_AUTHORIZATION_ID)
    assert sender.send(jobs.long_summary, CONNECTION).status == "sent"
    store.set_connection_secret(CONNECTION, authorization_id="wrongID42")
    for job_id in (jobs.ready, jobs.ready_without_contract, jobs.unmapped_contract,
                   jobs.special_characters):
        sender.send(job_id, CONNECTION)
    assert not store.connection(CONNECTION).paused
