"""The Spectrum client against the emulator, over real HTTP, for every outcome."""

from __future__ import annotations

import base64
import socket
import threading
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicetrade_spectrum.emulators.seed import (
    DEMO_AUTHORIZATION_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    INACTIVE_AUTHORIZATION_ID,
    LIMITED_AUTHORIZATION_ID,
)
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.spectrum import (
    AuthenticationFailed,
    ClientCredentials,
    NotAuthorized,
    Rejected,
    SpectrumClient,
    Succeeded,
    Transient,
    clean_text,
)

ClientFactory = Callable[..., SpectrumClient]


def work_order(number: str = "T10452", **extra: str) -> dict[str, str]:
    values = {"WO_Number": number, "WO_Reference_Code": "S", "WO_Job_Number": "S10001",
              "Bill_Customer_Code": "MERCYGEN", "WO_Job_Division": "SVC",
              "Summary_Description": "Annual sprinkler inspection"}
    values.update(extra)
    return values


# -- success -------------------------------------------------------------------------------
def test_a_work_order_is_created_then_updated_without_clearing(
        client: SpectrumClient, emulator: SpectrumEmulator) -> None:
    outcome = client.work_order_header(work_order(Customer_PO_Number="PO-1"))
    assert isinstance(outcome, Succeeded), outcome
    stored = emulator.work_order("1", "T10452")
    assert stored is not None
    assert stored["Bill_Customer_Code"] == "MERCYGEN"
    assert stored["Customer_PO_Number"] == "PO-1"

    again = client.work_order_header(work_order(Customer_PO_Number="", Summary_Description="New"))
    assert isinstance(again, Succeeded)
    stored = emulator.work_order("1", "T10452")
    assert stored is not None
    assert stored["Summary_Description"] == "New"
    assert stored["Customer_PO_Number"] == "PO-1"  # blank leaves Spectrum's value alone
    assert len(emulator.work_orders()) == 1


@pytest.mark.parametrize("style", ["none", "blank_row", "info_row"])
def test_every_plausible_success_body_is_success(
        client: SpectrumClient, emulator: SpectrumEmulator, style: str) -> None:
    emulator.settings.success_style = style
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, Succeeded), outcome
    if style == "info_row":
        assert outcome.info_for("WO_Number") == "T10452"


def test_headers_basic_auth_and_a_fresh_guid_per_call(
        client: SpectrumClient, emulator: SpectrumEmulator, ws_url: str) -> None:
    client.work_order_header(work_order("T1"))
    client.work_order_header(work_order("T2"))
    first, second = emulator.requests[-2:]
    assert first.headers["content-type"] == "text/xml; charset=utf-8"
    assert first.headers["soapaction"] == f"{ws_url}/WorkOrderHeader"
    expected = base64.b64encode(f"1:{DEMO_AUTHORIZATION_ID}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {expected}"
    assert first.guid != second.guid
    assert str(uuid.UUID(first.guid)) == first.guid


def test_the_exchange_is_recorded_with_the_authorization_id_masked(
        client: SpectrumClient) -> None:
    outcome = client.work_order_header(work_order())
    exchange = outcome.exchange
    assert DEMO_AUTHORIZATION_ID not in exchange.request_body
    assert "<Authorization_ID>***</Authorization_ID>" in exchange.request_body
    assert "T10452" in exchange.request_body
    assert exchange.http_status == 200
    assert exchange.response_body
    assert exchange.duration_seconds > 0


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25,
          deadline=None)
@given(text=st.text(max_size=250))
def test_any_summary_text_is_stored_as_sent(
        client: SpectrumClient, emulator: SpectrumEmulator, text: str) -> None:
    outcome = client.work_order_header(work_order(Summary_Description=text or "x"))
    assert isinstance(outcome, Succeeded), outcome
    stored = emulator.work_order("1", "T10452")
    assert stored is not None
    # Spectrum trims its char columns; everything else, markup included, arrives intact.
    assert stored["Summary_Description"] == (clean_text(text or "x").strip()
                                             or stored["Summary_Description"])


# -- rejected, not authorized --------------------------------------------------------------
def test_several_problems_come_back_together(
        client: SpectrumClient, emulator: SpectrumEmulator) -> None:
    outcome = client.work_order_header(work_order(Bill_Customer_Code="NOSUCH",
                                                  WO_Job_Number="S99999"))
    assert isinstance(outcome, Rejected), outcome
    assert {row.column for row in outcome.rows} >= {"Bill_Customer_Code", "WO_Job_Number"}
    assert all(row.code in ("I", "M") for row in outcome.rows)
    assert emulator.work_order("1", "T10452") is None


def test_missing_required_value_on_create_is_an_m_row(client: SpectrumClient) -> None:
    outcome = client.work_order_header(work_order(Bill_Customer_Code=""))
    assert isinstance(outcome, Rejected)
    assert [(r.code, r.column) for r in outcome.rows] == [("M", "Bill_Customer_Code")]


@pytest.mark.parametrize("authorization_id", ["wrongID", INACTIVE_AUTHORIZATION_ID,
                                              LIMITED_AUTHORIZATION_ID])
def test_unknown_inactive_or_unauthorized_ids_are_not_authorized(
        make_client: ClientFactory, authorization_id: str) -> None:
    outcome = make_client(authorization_id=authorization_id).work_order_header(work_order())
    assert isinstance(outcome, NotAuthorized), outcome
    assert "not authorized" in outcome.message.lower()
    assert authorization_id not in outcome.exchange.response_body


def test_could_not_find_webservice_is_not_authorized_and_not_retried(
        client: SpectrumClient, emulator: SpectrumEmulator) -> None:
    emulator.inject("client_fault", count=5)
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, NotAuthorized)
    assert "Could not find WebService" in outcome.message
    assert outcome.exchange.attempts == 1


# -- transient -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["server_fault", "server_fault_200", "http_503", "http_502"])
def test_transient_faults_are_retried_then_succeed(
        client: SpectrumClient, emulator: SpectrumEmulator, kind: str) -> None:
    emulator.inject(kind, count=2)
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.exchange.attempts == 3
    guids = [r.guid for r in emulator.requests[-3:]]
    assert len(set(guids)) == 3  # every try with a fresh GUID
    assert len(emulator.work_orders()) == 1


def test_spectrum_failing_every_try_is_transient(
        client: SpectrumClient, emulator: SpectrumEmulator) -> None:
    emulator.inject("server_fault", count=10)
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, Transient)
    assert "Error executing Web Service" in outcome.reason
    assert outcome.exchange.attempts == 3
    assert emulator.work_orders() == []


def test_a_slow_server_times_out_as_transient(
        make_client: ClientFactory, emulator: SpectrumEmulator) -> None:
    emulator.inject("slow", count=1, delay=1.5)
    client = make_client(timeout=0.3, retry=RetryPolicy.no_retries())
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, Transient)
    assert "within 0.3s" in outcome.reason


def test_an_unreachable_server_is_transient(make_client: ClientFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(ws_url=f"http://127.0.0.1:{port}/ws")
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, Transient)
    assert "could not reach Spectrum" in outcome.reason
    assert outcome.exchange.attempts == 3


def test_a_cut_off_answer_still_reports_its_rows(
        client: SpectrumClient, emulator: SpectrumEmulator) -> None:
    emulator.inject("truncate")
    outcome = client.work_order_header(work_order(Bill_Customer_Code="NOSUCH"))
    assert isinstance(outcome, Rejected)
    assert outcome.rows[0].column == "Bill_Customer_Code"


# -- get and add services ------------------------------------------------------------------
def test_get_customers_reads_trimmed_rows(client: SpectrumClient) -> None:
    outcome = client.get_customers()
    assert isinstance(outcome, Succeeded), outcome
    codes = {record["Customer_Code"] for record in outcome.records}
    assert "MERCYGEN" in codes
    assert "LEGACYPM" not in codes  # inactive: only with status I or ALL
    assert all(value == value.strip() for r in outcome.records for value in r.values())
    everyone = client.get_customers("ALL")
    assert isinstance(everyone, Succeeded)
    assert "LEGACYPM" in {record["Customer_Code"] for record in everyone.records}


def test_get_customers_stops_at_500_rows_with_a_warning(
        client: SpectrumClient, emulator: SpectrumEmulator) -> None:
    for n in range(520):
        outcome = client.add_customer({"Customer_Code": f"BULK{n:04d}", "Name": f"Bulk {n}",
                                       "Terms_Code": "N", "Sales_Tax_Code": "OH-FRANK"})
        assert isinstance(outcome, Succeeded), outcome
    listing = client.get_customers()
    assert isinstance(listing, Succeeded)
    assert len(listing.records) == 500
    assert [w.code for w in listing.warnings] == ["W"]


def test_add_customer_and_site_then_use_them(client: SpectrumClient) -> None:
    assert isinstance(client.add_customer({"Customer_Code": "NEWCO", "Name": "New Co",
                                           "Terms_Code": "N", "Sales_Tax_Code": "OH-FRANK"}),
                      Succeeded)
    duplicate = client.add_customer({"Customer_Code": "NEWCO", "Name": "New Co",
                                     "Terms_Code": "N", "Sales_Tax_Code": "OH-FRANK"})
    assert isinstance(duplicate, Rejected)
    assert isinstance(client.add_wo_site_address({"Site_ID": "S77777", "Site_Name": "New site",
                                                  "Site_Customer_Code": "NEWCO"}), Succeeded)
    outcome = client.work_order_header(work_order(WO_Job_Number="S77777",
                                                  Bill_Customer_Code="NEWCO"))
    assert isinstance(outcome, Succeeded), outcome


# -- enhanced authentication ---------------------------------------------------------------
@pytest.fixture
def enhanced(emulator: SpectrumEmulator) -> SpectrumEmulator:
    emulator.settings.enhanced_auth = True
    return emulator


def token_requests(emulator: SpectrumEmulator) -> int:
    return sum(1 for r in emulator.token_requests if r.path.endswith("/connect/token"))


def test_enhanced_auth_fetches_one_token_and_sends_bearer(
        make_client: ClientFactory, enhanced: SpectrumEmulator) -> None:
    client = make_client(credentials=ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    for n in range(3):
        assert isinstance(client.work_order_header(work_order(f"T{n}")), Succeeded)
    assert token_requests(enhanced) == 1
    last = enhanced.requests[-1]
    assert last.headers["authorization"].startswith("Bearer ")
    assert last.authorization_id == DEMO_AUTHORIZATION_ID  # still in the body


def test_an_expired_token_is_fetched_again_once(
        make_client: ClientFactory, enhanced: SpectrumEmulator) -> None:
    client = make_client(credentials=ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert isinstance(client.work_order_header(work_order()), Succeeded)
    enhanced.expire_tokens()
    assert isinstance(client.work_order_header(work_order()), Succeeded)
    assert token_requests(enhanced) == 2


def test_a_refused_secret_is_authentication_failed(
        make_client: ClientFactory, enhanced: SpectrumEmulator) -> None:
    client = make_client(credentials=ClientCredentials(DEMO_CLIENT_ID, "expired-secret"))
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, AuthenticationFailed)
    assert "client ID or secret" in outcome.message
    assert outcome.exchange.attempts == 1
    assert enhanced.work_orders() == []


def test_without_a_token_enhanced_spectrum_answers_401(
        client: SpectrumClient, enhanced: SpectrumEmulator) -> None:
    outcome = client.work_order_header(work_order())
    assert isinstance(outcome, AuthenticationFailed)


def test_secret_rotation_replaces_the_secret(
        make_client: ClientFactory, enhanced: SpectrumEmulator) -> None:
    client = make_client(credentials=ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    rotated = client.rotate_secret()
    assert rotated.client_secret
    assert rotated.client_secret != DEMO_CLIENT_SECRET
    assert rotated.client_secret not in repr(rotated)
    assert isinstance(client.work_order_header(work_order()), Succeeded)
    old = make_client(credentials=ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert isinstance(old.work_order_header(work_order()), AuthenticationFailed)


# -- limits and connection test ------------------------------------------------------------
def test_at_most_the_concurrency_limit_is_in_flight(
        make_client: ClientFactory, emulator: SpectrumEmulator) -> None:
    emulator.settings.latency_ms = 100
    clients = [make_client(concurrency=3) for _ in range(2)]  # two clients, one server
    threads = [threading.Thread(target=clients[n % 2].work_order_header,
                                args=(work_order(f"T{n}"),)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(emulator.work_orders()) == 12
    assert emulator.max_in_flight == 3


def test_connection_check_reports_authorization_without_changing_anything(
        make_client: ClientFactory, emulator: SpectrumEmulator) -> None:
    good = make_client().check_connection()
    assert good.ok, good
    assert good.authorized == {"WorkOrderHeader": True}
    limited = make_client(authorization_id=LIMITED_AUTHORIZATION_ID).check_connection()
    assert not limited.ok
    assert limited.authorized == {"WorkOrderHeader": False}
    assert emulator.work_orders() == []


def test_connection_check_of_an_unreachable_server(make_client: ClientFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check = make_client(ws_url=f"http://127.0.0.1:{port}/ws",
                        retry=RetryPolicy.no_retries()).check_connection()
    assert not check.reachable
    assert not check.ok
