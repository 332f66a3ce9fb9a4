"""The Spectrum SDX emulator, driven over real HTTP with hand-written SOAP.

Nothing here uses the product's Spectrum client: these tests pin the emulator to the wire
protocol page, so that the client's own tests against the emulator mean something.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from lxml import etree

from servicetrade_spectrum.emulators.seed import (
    DEMO_AUTHORIZATION_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    INACTIVE_AUTHORIZATION_ID,
    LIMITED_AUTHORIZATION_ID,
    spectrum_state,
)
from servicetrade_spectrum.emulators.spectrum import (
    NOT_AUTHORIZED,
    TOO_MANY_RECORDS,
    SpectrumEmulator,
)
from servicetrade_spectrum.serving import BackgroundServer, SwitchableApp
from servicetrade_spectrum.spectrum._layouts import (
    ADD_CUSTOMER,
    ADD_WO_SITE_ADDRESS,
    GET_CUSTOMERS,
    LAYOUTS,
    WORK_ORDER_HEADER,
    Layout,
)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TYPES_NS = "http://www.northgate-is.com/proiv/webservices/types"
MASK = "is invalid, value does not match specified field mask"

# A work order that Spectrum accepts as is (company 1 of the seed).
GOOD_WO: dict[str, str] = {
    "WO_Reference_Code": "S", "WO_Job_Number": "S10001", "Bill_Customer_Code": "MERCYGEN",
    "WO_Job_Division": "SVC",
}


def envelope(service: str, values: dict[str, str], *, names: tuple[str, ...] | None = None,
             prefix: str = "") -> str:
    """A request as a careful client writes it: every element, in order (or ``names``)."""
    layout = LAYOUTS.get(service)
    order = names if names is not None else (layout.names if layout else tuple(values))
    children = "".join(f"<{prefix}{n}>{escape(values.get(n, ''))}</{prefix}{n}>"
                       for n in order)
    declare = f' xmlns:{prefix[:-1]}="{TYPES_NS}"' if prefix else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}">'
            f'<soap:Body><{service} xmlns="{TYPES_NS}"{declare}>{children}</{service}>'
            "</soap:Body></soap:Envelope>")


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    """Every ``response`` row, each value trimmed (as the client must)."""
    root = etree.fromstring(response.content)
    return [{child.tag: (child.text or "").strip() for child in row}
            for row in root.iter("response")]


def fault_of(response: httpx.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    return root.findtext(".//faultcode") or "", root.findtext(".//faultstring") or ""


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SwitchableApp, BackgroundServer]]:
    switch = SwitchableApp()
    with BackgroundServer(switch) as background:
        yield switch, background


@pytest.fixture
def emu() -> SpectrumEmulator:
    return SpectrumEmulator.from_seed()


@pytest.fixture
def switch(running: tuple[SwitchableApp, BackgroundServer]) -> SwitchableApp:
    return running[0]


@pytest.fixture
def server(emu: SpectrumEmulator, running: tuple[SwitchableApp, BackgroundServer]
           ) -> BackgroundServer:
    running[0].target = emu.app
    return running[1]


@pytest.fixture(scope="module")
def _client(running: tuple[SwitchableApp, BackgroundServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running[1].url, timeout=10) as client:
        yield client


@pytest.fixture
def http(server: BackgroundServer, _client: httpx.Client) -> httpx.Client:
    """A client of this test's emulator (one client for the module: TLS set-up is slow)."""
    return _client


class Spectrum:
    """Posts hand-written requests for one Authorization ID."""

    def __init__(self, http: httpx.Client, authorization_id: str = DEMO_AUTHORIZATION_ID):
        self.http = http
        self.authorization_id = authorization_id

    def post(self, service: str, headers: dict[str, str] | None = None, /,
             **values: str) -> httpx.Response:
        values = {"Authorization_ID": self.authorization_id, "GUID": str(uuid.uuid4()),
                  **values}
        return self.http.post(f"/ws/{service}", content=envelope(service, values),
                              headers={"Content-Type": "text/xml; charset=utf-8",
                                       **(headers or {})})

    def rows(self, service: str, /, **values: str) -> list[dict[str, str]]:
        response = self.post(service, **values)
        assert response.status_code == 200, response.text
        return rows_of(response)


@pytest.fixture
def spectrum(http: httpx.Client) -> Spectrum:
    return Spectrum(http)


def columns(rows: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    return {row["column"]: (row["error_code"], row["desc"]) for row in rows}


# --- WorkOrderHeader ------------------------------------------------------------------------

def test_create_answers_g_row_and_stores_trimmed_text_as_received(
        spectrum: Spectrum, emu: SpectrumEmulator) -> None:
    special = 'Replace 2" valve & check <riser> \'B\' at "Tom & Jerry\'s"'
    rows = spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T10001",
                         Summary_Description=f"  {special}  ", Customer_PO_Number="A&B<7>")
    assert rows == [{"error_code": "G", "desc": "T10001", "column": "WO_Number"}]
    stored = emu.work_order("1", "T10001")
    assert stored is not None
    assert stored["Summary_Description"] == special
    assert stored["Customer_PO_Number"] == "A&B<7>"
    assert stored["Company_Code"] == "1"  # blank = the Authorization ID's default company
    assert stored["Taken_By"] == "STI"  # blank = the Authorization ID's operator
    assert [wo["WO_Number"] for wo in emu.work_orders()] == ["T10001"]


def test_update_with_blank_elements_leaves_stored_values_alone(
        spectrum: Spectrum, emu: SpectrumEmulator) -> None:
    spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T1", Customer_PO_Number="PO-1",
                  Summary_Description="first")
    rows = spectrum.rows("WorkOrderHeader", WO_Number="T1", WO_Reference_Code="S",
                         WO_Job_Number="S10002", Summary_Description="second")
    assert rows[0]["error_code"] == "G"  # Bill_Customer_Code is only required on create
    stored = emu.work_order("1", "T1")
    assert stored is not None
    assert (stored["WO_Job_Number"], stored["Summary_Description"]) == ("S10002", "second")
    assert (stored["Customer_PO_Number"], stored["Bill_Customer_Code"]) == ("PO-1", "MERCYGEN")
    assert len(emu.work_orders()) == 1


def test_blank_work_order_number_takes_the_next_counter_value(
        spectrum: Spectrum, emu: SpectrumEmulator) -> None:
    first = spectrum.rows("WorkOrderHeader", **GOOD_WO)
    second = spectrum.rows("WorkOrderHeader", **GOOD_WO)
    assert [first[0]["desc"], second[0]["desc"]] == ["700001", "700002"]
    assert emu.work_order("1", "700002") is not None
    assert emu.dump()["next_work_order_number"] == 700003


@pytest.mark.parametrize(("element", "value"), [
    ("WO_Reference_Code", "X"), ("WO_Phone1", "614-555-1000"), ("WO_Phone2", "61455510OO"),
    ("Price_Type", "X"), ("Total_Quote_Amount", "-100"), ("Projected_Hours", "four"),
    ("Ordered_Date", "2026-01-05"), ("Requested_Date", "02/30/2026"),
    ("Time_Entered", "251500"), ("Scheduled_Start_Time", "9:00"), ("Taxable_Flag", "y"),
    ("Material_Price_Level", "6"), ("Price_Level", "0"), ("Override_ERO_Markup", "12.345"),
])
def test_a_value_that_does_not_fit_its_mask_is_an_i_row(
        spectrum: Spectrum, emu: SpectrumEmulator, element: str, value: str) -> None:
    rows = spectrum.rows("WorkOrderHeader", **{**GOOD_WO, element: value}, WO_Number="T9")
    assert rows == [{"error_code": "I", "desc": f"{element} {MASK}", "column": element}]
    assert emu.work_orders() == []


def test_good_formats_are_accepted(spectrum: Spectrum) -> None:
    rows = spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T9", WO_Phone1="6145551000",
                         Price_Type="T", Total_Quote_Amount="1250.50", Projected_Hours="4",
                         Ordered_Date="01/05/2026", Time_Entered="081500", Taxable_Flag="Y",
                         Complete_Time="17:30:00", Price_Level="3", Override_ERO_Markup="15.5")
    assert rows[0]["error_code"] == "G"


@pytest.mark.parametrize(("element", "value", "desc"), [
    ("WO_Job_Number", "S99999", "Site ID S99999 does not exist"),
    ("Bill_Customer_Code", "GHOSTCO", "Customer GHOSTCO does not exist"),
    ("Bill_Customer_Code", "LEGACYPM", "Customer LEGACYPM is not active"),
    ("Contract_Number", "SC99999", "Contract SC99999 does not exist"),
    ("WO_Job_Division", "NOPE", "Work order type NOPE does not exist"),
    ("Lead_Source", "BILLBOARD", "Lead source BILLBOARD does not exist"),
])
def test_an_unknown_code_is_an_i_row(spectrum: Spectrum, element: str, value: str,
                                     desc: str) -> None:
    rows = spectrum.rows("WorkOrderHeader", **{**GOOD_WO, element: value}, WO_Number="T9")
    assert rows == [{"error_code": "I", "desc": desc, "column": element}]


def test_every_problem_is_reported_together_in_layout_order(
        spectrum: Spectrum, emu: SpectrumEmulator) -> None:
    rows = spectrum.rows("WorkOrderHeader", WO_Number="T9", Customer_PO_Number="P" * 26,
                         Contract_Number="SC99999", Taxable_Flag="Q")
    assert [(r["error_code"], r["column"]) for r in rows] == [
        ("M", "WO_Reference_Code"), ("M", "WO_Job_Number"), ("M", "WO_Job_Division"),
        ("M", "Bill_Customer_Code"), ("I", "Contract_Number"), ("I", "Customer_PO_Number"),
        ("I", "Taxable_Flag")]
    assert columns(rows)["Bill_Customer_Code"] == ("M", "Bill_Customer_Code is required")
    assert "Customer_PO_Number" in columns(rows)["Customer_PO_Number"][1]
    assert emu.work_orders() == []


def test_company_options_decide_division_and_lead_source(spectrum: Spectrum) -> None:
    # Company 2 has a default site work order type and requires a lead source.
    wo = {**GOOD_WO, "Company_Code": "2", "WO_Job_Division": "", "WO_Number": "T9"}
    assert columns(spectrum.rows("WorkOrderHeader", **wo)) == {
        "WO_Job_Number": ("I", "Site ID S10001 does not exist"),
        "Bill_Customer_Code": ("I", "Customer MERCYGEN does not exist"),
        "Lead_Source": ("M", "Lead_Source is required")}


def test_default_division_applies_on_create(emu: SpectrumEmulator, spectrum: Spectrum) -> None:
    with emu.state.lock:
        emu.state.sites[("2", "S1")] = {"Company_Code": "2", "Site_ID": "S1", "Status": "A"}
        emu.state.customers[("2", "C1")] = {"Company_Code": "2", "Customer_Code": "C1",
                                            "Status": "A"}
    rows = spectrum.rows("WorkOrderHeader", Company_Code="2", WO_Number="W1",
                         WO_Reference_Code="S", WO_Job_Number="S1", Bill_Customer_Code="C1",
                         Lead_Source="WEB")
    assert rows[0]["error_code"] == "G"
    assert (emu.work_order("2", "W1") or {})["WO_Job_Division"] == "SVC"


@pytest.mark.parametrize(("style", "expected"), [
    ("none", []),
    ("blank_row", [{"error_code": "", "desc": "", "column": ""}]),
    ("info_row", [{"error_code": "G", "desc": "T5", "column": "WO_Number"}]),
])
def test_success_styles(emu: SpectrumEmulator, spectrum: Spectrum, style: str,
                        expected: list[dict[str, str]]) -> None:
    emu.settings.success_style = style
    assert spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T5") == expected
    assert emu.work_order("1", "T5") is not None


# --- authorization ----------------------------------------------------------------------------

@pytest.mark.parametrize("authorization_id", [
    "nobody", INACTIVE_AUTHORIZATION_ID, LIMITED_AUTHORIZATION_ID])
def test_an_unauthorized_call_gets_a_single_a_row(
        http: httpx.Client, emu: SpectrumEmulator, authorization_id: str) -> None:
    rows = Spectrum(http, authorization_id).rows("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert rows == [{"error_code": "A", "desc": NOT_AUTHORIZED, "column": "Authorization_ID"}]
    assert emu.work_orders() == []


def test_a_company_outside_the_authorization_is_an_i_row(
        http: httpx.Client, spectrum: Spectrum) -> None:
    rows = Spectrum(http, LIMITED_AUTHORIZATION_ID).rows("GetCustomers", pCompany_Code="2")
    assert [(r["Error_Code"], r["Error_Column"]) for r in rows] == [("I", "pCompany_Code")]
    rows = spectrum.rows("WorkOrderHeader", **GOOD_WO, Company_Code="9")
    assert [(r["error_code"], r["column"]) for r in rows] == [("I", "Company_Code")]


def test_get_services_answer_a_rows_with_upper_case_columns(http: httpx.Client) -> None:
    rows = Spectrum(http, "nobody").rows("GetCustomers")
    assert len(rows) == 1
    assert (rows[0]["Error_Code"], rows[0]["Error_Description"], rows[0]["Error_Column"]) == (
        "A", NOT_AUTHORIZED, "Authorization_ID")


def test_a_guid_reused_by_another_authorization_id_times_out(http: httpx.Client) -> None:
    guid = str(uuid.uuid4())
    first = Spectrum(http).rows("GetCustomers", GUID=guid)
    assert first[0]["Error_Code"] == ""
    again = Spectrum(http, LIMITED_AUTHORIZATION_ID).rows("GetCustomers", GUID=guid)
    assert (again[0]["Error_Code"], again[0]["Error_Description"],
            again[0]["Error_Column"]) == ("A", "Time out has occurred", "GUID")


# --- binding the request ----------------------------------------------------------------------

def _post_raw(http: httpx.Client, service: str, body: str) -> httpx.Response:
    return http.post(f"/ws/{service}", content=body)


def _auth_values() -> dict[str, str]:
    return {"Authorization_ID": DEMO_AUTHORIZATION_ID, **GOOD_WO, "WO_Number": "T1"}


def test_an_unknown_service_is_a_client_fault(http: httpx.Client) -> None:
    response = _post_raw(http, "GetWorkOrder", envelope("GetWorkOrder", {"x": "1"}))
    assert response.status_code == 500
    assert fault_of(response) == ("SOAP-ENV:Client", "Could not find WebService named: "
                                  "GetWorkOrder")


@pytest.mark.parametrize(("names", "named"), [
    (WORK_ORDER_HEADER.names[:-1], "Markup_Code"),  # missing
    (tuple(n for n in WORK_ORDER_HEADER.names if n != "Zone"), "Zone"),  # missing, middle
    (("GUID", "Authorization_ID", *WORK_ORDER_HEADER.names[2:]), "Authorization_ID"),  # order
    ((*WORK_ORDER_HEADER.names, "Job_Notes"), "Job_Notes"),  # unknown
])
def test_the_layout_is_bound_strictly(http: httpx.Client, emu: SpectrumEmulator,
                                      names: tuple[str, ...], named: str) -> None:
    response = _post_raw(http, "WorkOrderHeader",
                         envelope("WorkOrderHeader", _auth_values(), names=names))
    assert response.status_code == 500
    code, message = fault_of(response)
    assert code == "SOAP-ENV:Client"
    assert named in message
    assert emu.work_orders() == []


@pytest.mark.parametrize("body", [
    "not xml at all",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
    + envelope("WorkOrderHeader", _auth_values()).split("?>", 1)[1],
    "<Envelope><Body/></Envelope>",
    envelope("GetCustomers", {"Authorization_ID": DEMO_AUTHORIZATION_ID}),  # wrong method
])
def test_malformed_requests_are_client_faults(http: httpx.Client, body: str) -> None:
    response = _post_raw(http, "WorkOrderHeader", body)
    assert response.status_code == 500
    assert fault_of(response)[0] == "SOAP-ENV:Client"


def test_qualified_children_are_accepted_and_headers_recorded(
        http: httpx.Client, emu: SpectrumEmulator) -> None:
    body = envelope("WorkOrderHeader", _auth_values(), prefix="nis:")
    response = http.post("/ws/WorkOrderHeader", content=body, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": "http://x/ws/WorkOrderHeader"})
    assert rows_of(response)[0]["error_code"] == "G"
    recorded = emu.requests[-1]
    assert recorded.headers["content-type"] == "text/xml; charset=utf-8"
    assert recorded.headers["soapaction"] == "http://x/ws/WorkOrderHeader"
    assert (recorded.service, recorded.method, recorded.path) == (
        "WorkOrderHeader", "POST", "/ws/WorkOrderHeader")
    assert recorded.authorization_id == DEMO_AUTHORIZATION_ID
    assert recorded.body == body


def test_response_envelope_shape(spectrum: Spectrum) -> None:
    response = spectrum.post("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(response.content)
    method = root.find(f"{{{SOAP_NS}}}Body/{{{TYPES_NS}}}WorkOrderHeaderResponse")
    assert method is not None
    assert method.find("returnArray/returnData/response/error_code") is not None


# --- GetCustomers -----------------------------------------------------------------------------

def test_get_customers_pads_char_columns_and_filters_status(spectrum: Spectrum) -> None:
    response = spectrum.post("GetCustomers")
    assert b"<getCustomers><response><Company_Code>1  </Company_Code>" in response.content
    assert b"<Customer_Code>ACMEMFG   </Customer_Code>" in response.content
    active = rows_of(response)
    assert "LEGACYPM" not in {r["Customer_Code"] for r in active}
    assert list(active[0]) == ["Company_Code", "Customer_Code", "Name", "Address_1", "City",
                               "State", "Zip_Code", "Phone", "Status", "Error_Code",
                               "Error_Description", "Error_Column"]
    inactive_too = spectrum.rows("GetCustomers", pStatus="I")
    assert len(inactive_too) == len(active) + 1
    assert {r["Customer_Code"]: r["Status"] for r in inactive_too}["LEGACYPM"] == "I"


def test_get_customers_writes_empty_values_both_ways(spectrum: Spectrum) -> None:
    response = spectrum.post("GetCustomers", pStatus="ALL")
    assert b"<Phone/>" in response.content
    assert b"<Phone> </Phone>" in response.content


def test_get_customers_stops_at_500_rows_with_a_w_row(http: httpx.Client,
                                                     switch: SwitchableApp) -> None:
    state = spectrum_state()
    state["customers"] += [{"Company_Code": "1", "Customer_Code": f"BULK{n:04d}",
                            "Name": f"Bulk {n}", "Status": "A"} for n in range(600)]
    switch.target = SpectrumEmulator(state).app
    rows = Spectrum(http).rows("GetCustomers")
    assert len(rows) == 501
    assert all(r["Error_Code"] == "" for r in rows[:500])
    assert (rows[-1]["Error_Code"], rows[-1]["Error_Description"]) == ("W", TOO_MANY_RECORDS)


# --- AddCustomer and AddWOSiteAddress ---------------------------------------------------------

NEW_CUSTOMER = {"Customer_Code": "NEWCO1", "Name": "New Co", "Terms_Code": "N",
                "Sales_Tax_Code": "OH-FRANK", "City": "Columbus"}


def test_add_customer_creates_an_active_customer(spectrum: Spectrum,
                                                 emu: SpectrumEmulator) -> None:
    rows = spectrum.rows("AddCustomer", **NEW_CUSTOMER)
    assert rows == [{"error_code": "G", "desc": "NEWCO1", "column": "Customer_Code"}]
    added = [c for c in emu.customers("1") if c["Customer_Code"] == "NEWCO1"]
    assert [(c["Status"], c["City"]) for c in added] == [("A", "Columbus")]
    again = spectrum.rows("AddCustomer", **NEW_CUSTOMER)
    assert columns(again) == {"Customer_Code": ("I", "Customer NEWCO1 already exists")}


def test_add_customer_refuses_bad_codes_and_names(spectrum: Spectrum,
                                                  emu: SpectrumEmulator) -> None:
    rows = spectrum.rows("AddCustomer", **{**NEW_CUSTOMER, "Customer_Code": "new,co",
                                           "Name": "New, Co", "Terms_Code": ""})
    assert columns(rows) == {"Customer_Code": ("I", f"Customer_Code {MASK}"),
                             "Name": ("I", f"Name {MASK}"),
                             "Terms_Code": ("M", "Terms_Code is required")}
    assert len(emu.customers()) == len(spectrum_state()["customers"])


def test_add_wo_site_address(spectrum: Spectrum, emu: SpectrumEmulator) -> None:
    site = {"Company_Code": "1", "Site_ID": "S90001", "Site_Name": "New Plant",
            "Site_Customer_Code": "MERCYGEN"}
    assert spectrum.rows("AddWOSiteAddress", **site)[0]["error_code"] == "G"
    added = [s for s in emu.sites("1") if s["Site_ID"] == "S90001"]
    assert [s["Status"] for s in added] == ["A"]
    # the new site can take work orders at once
    rows = spectrum.rows("WorkOrderHeader", **{**GOOD_WO, "WO_Job_Number": "S90001"})
    assert rows[0]["error_code"] == "G"
    problems = spectrum.rows("AddWOSiteAddress", **{**site, "Site_Customer_Code": "NOPE",
                                                    "Site_Name": ""})
    assert columns(problems) == {"Site_ID": ("I", "Site ID S90001 already exists"),
                                 "Site_Name": ("M", "Site_Name is required"),
                                 "Site_Customer_Code": ("I", "Customer NOPE does not exist")}
    blank_company = spectrum.rows("AddWOSiteAddress", **{**site, "Company_Code": ""})
    assert columns(blank_company) == {"Company_Code": ("M", "Company_Code is required")}


# --- enhanced authentication ------------------------------------------------------------------

def _token_form(**changes: str) -> dict[str, str]:
    return {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "scope": "spectrumapi", "grant_type": "client_credentials", **changes}


def test_enhanced_auth_requires_a_live_bearer_token(
        emu: SpectrumEmulator, http: httpx.Client, spectrum: Spectrum) -> None:
    emu.settings.enhanced_auth = True
    refused = spectrum.post("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    token = http.post("/connect/token", data=_token_form())
    assert token.status_code == 200
    body = token.json()
    assert (body["token_type"], body["scope"], body["expires_in"]) == (
        "Bearer", "spectrumapi", 3600)
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert rows_of(spectrum.post("WorkOrderHeader", bearer, **GOOD_WO, WO_Number="T1"))[0][
        "error_code"] == "G"
    # the body's Authorization_ID is still checked
    wrong_id = Spectrum(http, "nobody").post("GetCustomers", bearer)
    assert rows_of(wrong_id)[0]["Error_Code"] == "A"
    emu.expire_tokens()
    assert spectrum.post("GetCustomers", bearer).status_code == 401
    assert spectrum.post("GetCustomers", {"Authorization": "Bearer forged"}).status_code == 401
    assert [r.service for r in emu.token_requests] == ["connect/token"]
    assert DEMO_CLIENT_SECRET not in emu.token_requests[0].body


@pytest.mark.parametrize(("changes", "error"), [
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"client_id": "stranger"}, "invalid_client"),
    ({"scope": "everything"}, "invalid_scope"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_token_endpoint_refusals(http: httpx.Client, changes: dict[str, str],
                                 error: str) -> None:
    response = http.post("/connect/token", data=_token_form(**changes))
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_token_endpoint_accepts_basic_client_credentials(http: httpx.Client) -> None:
    form = {"scope": "spectrumapi", "grant_type": "client_credentials"}
    response = http.post("/connect/token", data=form,
                         auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_secret_rotation_replaces_the_secret(http: httpx.Client,
                                             emu: SpectrumEmulator) -> None:
    rotated = http.post("/secretRotation", data=_token_form())
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret != DEMO_CLIENT_SECRET
    assert rotated.json()["estimated_expiration"]
    assert http.post("/connect/token", data=_token_form()).json()["error"] == "invalid_client"
    assert http.post("/connect/token",
                     data=_token_form(client_secret=new_secret)).status_code == 200
    assert emu.dump()["oauth_clients"][0]["client_secret"] == new_secret


def test_secret_rotation_needs_self_rotation(http: httpx.Client, switch: SwitchableApp) -> None:
    state = spectrum_state()
    state["oauth_clients"][0]["self_rotation"] = False
    switch.target = SpectrumEmulator(state).app
    response = http.post("/secretRotation", data=_token_form())
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


# --- fault injection --------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "status", "fault"), [
    ("server_fault", 500, ("SOAP-ENV:Server", "Error executing Web Service")),
    ("server_fault_200", 200, ("SOAP-ENV:Server", "Error executing Web Service")),
    ("client_fault", 500, ("SOAP-ENV:Client", "Could not find WebService named: "
                                              "WorkOrderHeader")),
    ("http_503", 503, None), ("http_502", 502, None), ("unauthorized_401", 401, None),
])
def test_failing_faults_store_nothing_and_are_consumed(
        emu: SpectrumEmulator, spectrum: Spectrum, kind: str, status: int,
        fault: tuple[str, str] | None) -> None:
    emu.inject(kind, service="WorkOrderHeader")
    response = spectrum.post("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert response.status_code == status
    if fault is not None:
        assert fault_of(response) == fault
    elif kind.startswith("http_"):
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert emu.work_orders() == []
    assert emu.requests[-1].fault == kind
    assert rows_of(spectrum.post("WorkOrderHeader", **GOOD_WO, WO_Number="T1"))[0][
        "error_code"] == "G"


def test_faults_match_their_service_and_count(emu: SpectrumEmulator,
                                              spectrum: Spectrum) -> None:
    emu.inject("http_503", service="AddCustomer", count=2)
    assert spectrum.post("GetCustomers").status_code == 200
    assert spectrum.post("AddCustomer", **NEW_CUSTOMER).status_code == 503
    assert spectrum.post("AddCustomer", **NEW_CUSTOMER).status_code == 503
    assert spectrum.post("AddCustomer", **NEW_CUSTOMER).status_code == 200
    emu.inject("http_502", count=5)
    emu.clear_faults()
    assert spectrum.post("GetCustomers").status_code == 200


def test_truncate_cuts_the_closing_tags_but_applies_the_call(
        emu: SpectrumEmulator, spectrum: Spectrum) -> None:
    emu.inject("truncate")
    response = spectrum.post("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert response.status_code == 200
    assert response.content.endswith(b"</response>")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)
    assert emu.work_order("1", "T1") is not None
    whole = spectrum.post("GetCustomers").content
    emu.inject("truncate", cut_bytes=10)
    assert spectrum.post("GetCustomers").content == whole[:-10]


def test_slow_waits_then_answers(emu: SpectrumEmulator, spectrum: Spectrum) -> None:
    emu.inject("slow", delay=0.3)
    started = time.monotonic()
    response = spectrum.post("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert time.monotonic() - started >= 0.3
    assert rows_of(response)[0]["error_code"] == "G"
    assert emu.work_order("1", "T1") is not None


# --- latency, concurrency, control endpoints --------------------------------------------------

def test_latency_delays_answers(emu: SpectrumEmulator, spectrum: Spectrum) -> None:
    emu.settings.latency_ms = 250
    started = time.monotonic()
    spectrum.post("GetCustomers")
    assert time.monotonic() - started >= 0.25


def test_max_in_flight_counts_concurrent_calls(emu: SpectrumEmulator,
                                               server: BackgroundServer) -> None:
    emu.settings.latency_ms = 300

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            body = envelope("GetCustomers", {"Authorization_ID": DEMO_AUTHORIZATION_ID})
            await asyncio.gather(*(client.post("/ws/GetCustomers", content=body)
                                   for _ in range(4)))

    asyncio.run(burst())
    assert emu.max_in_flight == 4
    handled, seconds = emu.handled
    assert handled == 4
    assert 4 * 0.3 <= seconds < 4 * 0.3 + 1.0  # each call held for its latency, at once
    emu.reset_stats()
    assert emu.max_in_flight == 0
    assert emu.handled == (0, 0.0)


def test_control_endpoints(http: httpx.Client, spectrum: Spectrum,
                           emu: SpectrumEmulator) -> None:
    spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T1")
    assert http.get("/_emulator/work-orders").json()[0]["WO_Number"] == "T1"
    assert http.get("/_emulator/state").json()["work_orders"][0]["WO_Number"] == "T1"
    recorded = http.get("/_emulator/requests").json()
    assert DEMO_AUTHORIZATION_ID not in str(recorded)
    assert "<Authorization_ID>***</Authorization_ID>" in recorded[0]["body"]
    assert recorded[0]["headers"]["content-type"] == "text/xml; charset=utf-8"
    stats = http.get("/_emulator/stats").json()
    assert stats.pop("handled_seconds") > 0
    assert stats == {"max_in_flight": 1, "in_flight": 0, "requests": 1, "handled": 1}

    armed = http.post("/_emulator/faults", json={"kind": "http_503", "service": "*",
                                                 "count": 2, "delay": 0, "cut_bytes": 0})
    assert armed.json()["faults"][0]["count"] == 2
    assert http.post("/_emulator/faults", json={"kind": "meteor"}).status_code == 400
    assert spectrum.post("GetCustomers").status_code == 503
    assert http.delete("/_emulator/faults").json() == {"faults": []}
    assert spectrum.post("GetCustomers").status_code == 200

    changed = http.post("/_emulator/settings", json={"success_style": "none",
                                                     "latency_ms": 5})
    assert changed.json()["success_style"] == "none"
    assert (emu.settings.success_style, emu.settings.latency_ms) == ("none", 5)
    assert http.post("/_emulator/settings", json={"success_style": "loud"}).status_code == 400
    assert spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T2") == []

    http.post("/_emulator/settings", json={"enhanced_auth": True})
    token = http.post("/connect/token", data=_token_form()).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert spectrum.post("GetCustomers", bearer).status_code == 200
    assert http.post("/_emulator/expire-tokens").status_code == 200
    assert spectrum.post("GetCustomers", bearer).status_code == 401


def test_wsdl_lists_the_layout_in_order(http: httpx.Client) -> None:
    response = http.get("/wsdls/WorkOrderHeader.jws")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    method = root.find(f".//{xsd}element[@name='WorkOrderHeader']")
    assert method is not None
    assert tuple(e.get("name") for e in method.iter(f"{xsd}element"))[1:] == (
        WORK_ORDER_HEADER.names)
    assert http.get("/wsdls/Nope.jws").status_code == 404


# --- state files and the command line ---------------------------------------------------------

def test_dump_round_trips_through_a_data_file(tmp_path: Path, spectrum: Spectrum,
                                              emu: SpectrumEmulator) -> None:
    spectrum.rows("WorkOrderHeader", **GOOD_WO, WO_Number="T1", Summary_Description="x & y")
    path = tmp_path / "spectrum.json"
    path.write_text(json.dumps(emu.dump()))
    reloaded = SpectrumEmulator.from_file(path)
    assert reloaded.work_order("1", "T1") == emu.work_order("1", "T1")
    assert reloaded.dump() == emu.dump()


def test_layouts_bind_for_every_service(spectrum: Spectrum) -> None:
    layouts: list[Layout] = [WORK_ORDER_HEADER, GET_CUSTOMERS, ADD_CUSTOMER, ADD_WO_SITE_ADDRESS]
    for layout in layouts:
        assert spectrum.post(layout.service).status_code == 200


def test_cli_serves_the_emulator(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = spectrum_state()
    state["customers"].append({"Company_Code": "1", "Customer_Code": "AAAFIRST",
                               "Name": "From the data file", "Status": "A"})
    data = tmp_path / "state.json"
    data.write_text(json.dumps(state))
    cli = Path(sys.executable).with_name("st-spectrum")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([str(cli), "emulate", "spectrum", "--port", str(port),
                                "--data", str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/ws" in line
        body = envelope("GetCustomers", {"Authorization_ID": DEMO_AUTHORIZATION_ID})
        response: Any = None
        deadline = time.monotonic() + 10
        while response is None:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/ws/GetCustomers", content=body)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert response.status_code == 200
        assert rows_of(response)[0]["Customer_Code"] == "AAAFIRST"
    finally:
        process.terminate()
        process.wait(timeout=10)
