"""Envelope building: layout order, escaping, and that any text survives the round trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from servicetrade_spectrum.spectrum import (
    WORK_ORDER_HEADER,
    InvalidRequest,
    SpectrumClient,
    build_envelope,
    clean_text,
)
from servicetrade_spectrum.spectrum._xml import SOAP_ENV_NS, TYPES_NS, parse_untrusted


def method_element(body: bytes) -> etree._Element:
    envelope = parse_untrusted(body)
    assert envelope.tag == f"{{{SOAP_ENV_NS}}}Envelope"
    (method,) = envelope.find(f"{{{SOAP_ENV_NS}}}Body")  # type: ignore[misc]
    return method


def test_every_layout_element_is_present_in_order_in_the_types_namespace() -> None:
    method = method_element(build_envelope(WORK_ORDER_HEADER, {"WO_Number": "T10452"}))
    assert method.tag == f"{{{TYPES_NS}}}WorkOrderHeader"
    assert [etree.QName(child).localname for child in method] == list(WORK_ORDER_HEADER.names)
    assert all(etree.QName(child).namespace == TYPES_NS for child in method)
    values = {etree.QName(child).localname: child.text or "" for child in method}
    assert values["WO_Number"] == "T10452"
    assert values["Zone"] == ""


def test_special_characters_are_escaped_never_raw() -> None:
    body = build_envelope(WORK_ORDER_HEADER, {"Summary_Description": 'A&B <riser> "2" \'x\''})
    assert b"A&amp;B &lt;riser&gt;" in body
    assert b"<riser>" not in body


@given(st.text())
def test_any_text_survives_the_envelope_round_trip(text: str) -> None:
    cleaned = clean_text(text)
    method = method_element(build_envelope(WORK_ORDER_HEADER, {"Summary_Description": cleaned}))
    received = next(c for c in method if etree.QName(c).localname == "Summary_Description")
    assert (received.text or "") == cleaned


@given(st.text())
def test_cleaning_only_removes_what_xml_cannot_carry(text: str) -> None:
    cleaned = clean_text(text)
    assert all(ch in text for ch in cleaned)
    for ch in set(text) - set(cleaned):
        code = ord(ch)
        assert code < 0x20 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)
        assert ch not in "\t\n\r"


element_names = st.sampled_from([e.name for e in WORK_ORDER_HEADER.elements
                                 if e.name not in ("Authorization_ID", "GUID")])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(name=element_names, extra=st.integers(1, 40), data=st.data())
def test_over_long_values_are_caught_before_sending(
        client: SpectrumClient, emulator, name: str, extra: int, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    limit = WORK_ORDER_HEADER.max_length(name)
    value = data.draw(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                              min_size=limit + extra, max_size=limit + extra))
    sent_before = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        client.work_order_header({"WO_Reference_Code": "S", "WO_Job_Number": "S10001",
                                  name: value})
    (violation,) = [v for v in caught.value.violations if v.element == name]
    assert (violation.length, violation.max_length) == (limit + extra, limit)
    assert str(limit) in str(caught.value)
    assert len(emulator.requests) == sent_before  # nothing reached Spectrum
