"""Reading answers exactly as live servers write them (pure functions: no HTTP needed)."""

from __future__ import annotations

import pytest

from servicetrade_spectrum.spectrum import (
    Exchange,
    NotAuthorized,
    Rejected,
    Succeeded,
    Transient,
    UnreadableAnswer,
    parse_answer,
)
from servicetrade_spectrum.spectrum._classify import classify_answer

NS = 'xmlns:nis="http://www.northgate-is.com/proiv/webservices/types"'
ENV = ('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
       "<SOAP-ENV:Body>{}</SOAP-ENV:Body></SOAP-ENV:Envelope>")


def put_answer(*rows: tuple[str, str, str]) -> bytes:
    body = "".join(f"<response><error_code>{c}</error_code><desc>{d}</desc>"
                   f"<column>{col}</column></response>" for c, d, col in rows)
    return ENV.format(f"<nis:WorkOrderHeaderResponse {NS}><returnArray><returnData>{body}"
                      "</returnData></returnArray></nis:WorkOrderHeaderResponse>").encode()


def classify(body: bytes, status: int = 200, *, get_service: bool = False):  # type: ignore[no-untyped-def]
    exchange = Exchange("WorkOrderHeader", "http://x/ws/WorkOrderHeader", "g", "", "", status)
    return classify_answer(exchange, body, get_service=get_service)


def test_several_rows_are_all_read_and_trimmed() -> None:
    answer = parse_answer(put_answer(
        ("I", "  Bill_Customer_Code is invalid  ", "Bill_Customer_Code "),
        ("M", "WO_Job_Number is required", "WO_Job_Number")))
    assert [(r.code, r.message, r.column) for r in answer.rows] == [
        ("I", "Bill_Customer_Code is invalid", "Bill_Customer_Code"),
        ("M", "WO_Job_Number is required", "WO_Job_Number")]
    outcome = classify(put_answer(("I", "bad", "A"), ("M", "missing", "B")))
    assert isinstance(outcome, Rejected)
    assert len(outcome.rows) == 2


def test_get_rows_use_upper_case_columns_padding_and_self_closing_empties() -> None:
    row = ("<response><Customer_Code>ACME      </Customer_Code><Name>Acme </Name><City/>"
           "<Phone> </Phone><Error_Code/><Error_Description> </Error_Description>"
           "<Error_Column/></response>")
    warning = ("<response><Error_Code>W</Error_Code><Error_Description>WARNING - Number of "
               "returnable records exceeds maximum number of records allowed."
               "</Error_Description><Error_Column/></response>")
    body = ENV.format(f"<nis:GetCustomersResponse {NS}><returnArray><returnData><getCustomers>"
                      f"{row}{warning}</getCustomers></returnData></returnArray>"
                      "</nis:GetCustomersResponse>").encode()
    outcome = classify(body, get_service=True)
    assert isinstance(outcome, Succeeded)
    assert outcome.records == ({"Customer_Code": "ACME", "Name": "Acme", "City": "",
                                "Phone": ""},)
    assert [w.code for w in outcome.warnings] == ["W"]


@pytest.mark.parametrize("rows", [(), (("", "", ""),), (("G", "T10452", "WO_Number"),)])
def test_all_three_plausible_success_bodies_are_success(rows: tuple) -> None:  # type: ignore[type-arg]
    outcome = classify(put_answer(*rows))
    assert isinstance(outcome, Succeeded)


def test_a_row_is_not_authorized_and_e_row_saying_so_too() -> None:
    text = "The Web Service is not authorized. Authorization ID is not setup in the system."
    assert isinstance(classify(put_answer(("A", text, "Authorization_ID"))), NotAuthorized)
    assert isinstance(classify(put_answer(("E", "Web Service not authorized", ""))),
                      NotAuthorized)


def test_an_undocumented_code_is_a_failure() -> None:
    outcome = classify(put_answer(("X", "something new", "Zone")))
    assert isinstance(outcome, Rejected)
    assert outcome.rows[0].code == "X"


def test_guid_time_out_is_transient() -> None:
    assert isinstance(classify(put_answer(("A", "Time out has occurred", "GUID"))), Transient)


def test_truncated_answer_keeps_complete_rows() -> None:
    body = put_answer(("I", "first", "Zone"), ("M", "second", "WO_Job_Number"))
    cut = body[: body.rindex(b"</response>") + len(b"</response>")]
    answer = parse_answer(cut)
    assert answer.truncated
    assert [r.message for r in answer.rows] == ["first", "second"]
    half_row = cut + b"<response><error_code>I</error_code><desc>third"
    assert [r.message for r in parse_answer(half_row).rows] == ["first", "second"]


def test_truncated_answer_without_rows_is_transient() -> None:
    body = put_answer()
    assert isinstance(classify(body[:60]), Transient)


@pytest.mark.parametrize("status", [200, 500])
def test_faults(status: int) -> None:
    def fault(code: str, text: str) -> bytes:
        return ENV.format(f"<SOAP-ENV:Fault><faultcode>{code}</faultcode>"
                          f"<faultstring>{text}</faultstring></SOAP-ENV:Fault>").encode()

    server = classify(fault("SOAP-ENV:Server", "Error executing Web Service"), status)
    assert isinstance(server, Transient)
    missing = classify(fault("SOAP-ENV:Client", "Could not find WebService named: X"), status)
    assert isinstance(missing, NotAuthorized)
    other = classify(fault("SOAP-ENV:Client", "Element Zone missing"), status)
    assert isinstance(other, Rejected)


def test_doctype_and_entities_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;">]><Envelope>&lol2;</Envelope>')
    with pytest.raises(UnreadableAnswer, match="DOCTYPE"):
        parse_answer(bomb)
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           + put_answer(("G", "&e;", "WO_Number")).split(b"?>", 1)[-1])
    with pytest.raises(UnreadableAnswer):
        parse_answer(xxe)


@pytest.mark.parametrize("body", [b"", b"<html><body>Bad gateway</body></html>",
                                  b"not xml at all"])
def test_non_soap_answers_are_transient(body: bytes) -> None:
    assert isinstance(classify(body, 200), Transient)
    assert isinstance(classify(body, 502), Transient)


def test_http_401_is_authentication_failure() -> None:
    assert classify(b"", 401).kind == "authentication_failed"
