from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicetrade_spectrum.domain import (
    SUMMARY_LIMIT,
    ConnectionRules,
    Failure,
    FailureKind,
    JobFacts,
    RecordRef,
    SpectrumRow,
    WorkOrderDraft,
    build_work_order,
    explain_rejection,
    resend_effects,
)

RULES = ConnectionRules(name="Main", company_code="1", prefix="T", work_order_type="SVC",
                        lead_source="WEB")
FACTS = JobFacts(
    job_id=3100000000000038, job_number="10452", description="Annual sprinkler inspection",
    customer_po="PO-1", company=RecordRef("company", 1, "Acme"), customer_code="ACMEMFG",
    location=RecordRef("location", 2, "Acme - Plant"), site_id="S10001",
    contract=RecordRef("contract", 3, "Acme 2026"), contract_number="SC26001")


def draft(facts: JobFacts = FACTS, rules: ConnectionRules = RULES,
          last: dict[str, str] | None = None) -> WorkOrderDraft:
    result = build_work_order(facts, rules, last)
    assert isinstance(result, WorkOrderDraft), result
    return result


def failure(facts: JobFacts = FACTS, rules: ConnectionRules = RULES) -> Failure:
    result = build_work_order(facts, rules)
    assert isinstance(result, Failure), result
    return result


def test_every_field_of_the_reference_table() -> None:
    fields = draft().fields
    assert fields == {
        "Company_Code": "1", "WO_Number": "T10452", "WO_Reference_Code": "S",
        "WO_Job_Number": "S10001", "Bill_Customer_Code": "ACMEMFG",
        "Contract_Number": "SC26001", "Summary_Description": "Annual sprinkler inspection",
        "Customer_PO_Number": "PO-1", "WO_Job_Division": "SVC", "Lead_Source": "WEB"}


def test_contract_present_but_unmapped_or_absent_is_sent_blank() -> None:
    assert draft(dataclasses.replace(FACTS, contract_number=None)).fields["Contract_Number"] == ""
    no_contract = dataclasses.replace(FACTS, contract=None, contract_number="SC26001")
    assert draft(no_contract).fields["Contract_Number"] == ""


def test_no_prefix_and_no_optional_settings() -> None:
    fields = draft(rules=ConnectionRules(name="Main", company_code="1")).fields
    assert fields["WO_Number"] == "10452"
    assert fields["WO_Job_Division"] == ""
    assert fields["Lead_Source"] == ""


def test_customer_not_mapped_names_the_company_and_the_system() -> None:
    result = failure(dataclasses.replace(FACTS, customer_code=None))
    assert result.kind is FailureKind.CUSTOMER_NOT_MAPPED
    assert "Company 'Acme' has no Spectrum customer for system 'spectrum'" in result.message
    assert "external ID for 'spectrum'" in result.fix


def test_every_missing_mapping_is_reported_at_once() -> None:
    result = failure(dataclasses.replace(FACTS, customer_code="", site_id=None))
    assert result.kind is FailureKind.CUSTOMER_NOT_MAPPED
    assert "Location 'Acme - Plant'" in result.message
    assert "site ID" in result.fix


def test_site_not_mapped() -> None:
    assert failure(dataclasses.replace(FACTS, site_id="")).kind is FailureKind.SITE_NOT_MAPPED


def test_work_order_number_too_long() -> None:
    result = failure(dataclasses.replace(FACTS, job_number="1234567890"))
    assert result.kind is FailureKind.WORK_ORDER_NUMBER_TOO_LONG
    assert "'T1234567890'" in result.message
    assert "11 characters" in result.message
    assert "shorter leading character" in result.fix
    assert draft(dataclasses.replace(FACTS, job_number="123456789")).number == "T123456789"


def test_a_31_character_po_is_refused_naming_both_lengths() -> None:
    result = failure(dataclasses.replace(FACTS, customer_po="PO-2026-FACILITIES-000123456789"))
    assert result.kind is FailureKind.VALUE_TOO_LONG
    assert "31 characters" in result.message
    assert "at most 25" in result.message
    assert "customer PO of job 10452" in result.message
    assert "Shorten the customer PO on job 10452 to 25" in result.fix


def test_an_over_long_mapped_code_is_refused() -> None:
    result = failure(dataclasses.replace(FACTS, customer_code="ACMEMANUFACTURING"))
    assert result.kind is FailureKind.VALUE_TOO_LONG
    assert "Bill_Customer_Code accepts at most 10" in result.message
    assert "company 'Acme'" in result.fix


def test_a_long_summary_is_cut_at_250_with_a_warning() -> None:
    result = draft(dataclasses.replace(FACTS, description="x" * 300))
    assert result.fields["Summary_Description"] == "x" * SUMMARY_LIMIT
    assert result.warnings
    assert "300 characters" in result.warnings[0]


@given(st.text(min_size=0, max_size=600))
def test_any_description_fits_and_is_a_prefix_of_the_cleaned_text(text: str) -> None:
    summary = draft(dataclasses.replace(FACTS, description=text)).fields["Summary_Description"]
    assert len(summary) <= SUMMARY_LIMIT
    assert all(ord(ch) >= 0x20 or ch in "\t\n\r" for ch in summary)


def test_control_characters_are_dropped_and_markup_kept() -> None:
    result = draft(dataclasses.replace(FACTS, description='A & <b> "q"\x07\x00', customer_po="A&B"))
    assert result.fields["Summary_Description"] == 'A & <b> "q"'
    assert result.fields["Customer_PO_Number"] == "A&B"


def test_preserve_edits_sends_only_what_changed_and_always_the_required() -> None:
    rules = dataclasses.replace(RULES, preserve_edits=True)
    first = draft(rules=rules)
    assert first.fields["Customer_PO_Number"] == "PO-1"  # first send: everything
    changed = dataclasses.replace(FACTS, customer_po="PO-2")
    again = draft(changed, rules, last=first.source_fields)
    assert again.fields["Customer_PO_Number"] == "PO-2"
    assert again.fields["Summary_Description"] == ""
    assert again.fields["Bill_Customer_Code"] == ""
    assert again.fields["WO_Reference_Code"] == "S"
    assert again.fields["WO_Job_Number"] == "S10001"


def test_resend_effects_list_overwrites_changes_and_fields_spectrum_keeps() -> None:
    first = draft()
    later = draft(dataclasses.replace(FACTS, customer_po="", description="New summary"))
    effects = resend_effects(later, first.source_fields)
    assert effects.is_resend
    assert {c.element for c in effects.changes} == {"Customer_PO_Number", "Summary_Description"}
    assert "Summary_Description" in effects.overwritten
    assert effects.kept == ("Customer_PO_Number",)
    assert any("keep 'PO-1'" in w for w in effects.warnings)
    assert not resend_effects(first, None).is_resend


def test_rejection_names_the_servicetrade_value_behind_each_column() -> None:
    built = draft()
    rows = (SpectrumRow("I", "Bill_Customer_Code is invalid", "Bill_Customer_Code"),
            SpectrumRow("I", "Site ID S10001 does not exist", "WO_Job_Number"))
    result = explain_rejection(rows, built, FACTS, RULES)
    assert result.kind is FailureKind.REJECTED_BY_SPECTRUM
    assert '"Bill_Customer_Code is invalid"' in result.message
    assert "'spectrum' external ID of company 'Acme'" in result.message
    assert "location 'Acme - Plant'" in result.fix
    assert result.spectrum_rows == rows


@pytest.mark.parametrize("kind", list(FailureKind))
def test_comments_read_as_plain_words(kind: FailureKind) -> None:
    text = Failure(kind, "What failed.", "What to do.").as_comment("Main")
    assert text.startswith("Send Job to Spectrum (Main) failed: ")
    assert "How to fix: What to do." in text
