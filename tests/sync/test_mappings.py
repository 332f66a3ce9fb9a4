"""The mappings use case against the ServiceTrade emulator: what is missing, which open jobs
each gap holds back, and setting/clearing values with ServiceTrade's refusals in plain words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.servicetrade import ServiceTradeClient, SessionAuth
from servicetrade_spectrum.sync import (
    InvalidMappingValue,
    MappingRecordNotFound,
    MappingRefused,
    Mappings,
    MappingUnavailable,
)

SEED = seed.servicetrade_state()
JOBS = seed.notable_jobs()
UNMAPPED_COMPANY = next(c for c in SEED["companies"] if c["name"] == "Westfield Plastics")
MAPPED_COMPANY = next(c for c in SEED["companies"] if c["name"] == "Acme Manufacturing")


@pytest.fixture
def mappings(servicetrade_url: str) -> Iterator[Mappings]:
    client = ServiceTradeClient(servicetrade_url,
                                SessionAuth(seed.DEMO_USERNAME, seed.DEMO_PASSWORD),
                                retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    with client:
        yield Mappings(client, "Main", "spectrum")


def _open(job: dict[str, object]) -> bool:
    return job["status"] not in ("completed", "closed", "canceled")


def test_overview_lists_every_record_and_what_is_missing(mappings: Mappings) -> None:
    overview = mappings.overview()
    assert len(overview.companies) == len(SEED["companies"])
    assert len(overview.locations) == len(SEED["locations"])
    assert len(overview.contracts) == len(SEED["contracts"])
    for entity, key in (("company", "companies"), ("location", "locations"),
                        ("contract", "contracts")):
        expected = {row["id"] for row in SEED[key] if not row["externalIds"]}
        assert {m.id for m in overview.missing(entity)} == expected  # type: ignore[arg-type]
    acme = next(m for m in overview.companies if m.id == MAPPED_COMPANY["id"])
    assert acme.value == "ACMEMFG"
    assert acme.blocked_jobs == ()
    location = overview.locations[0]
    assert location.company_name  # locations say whose they are


def test_blocked_jobs_are_the_open_jobs_of_the_unmapped_record(mappings: Mappings) -> None:
    overview = mappings.overview()
    company_id = next(j["companyId"] for j in SEED["jobs"] if j["id"] == JOBS.customer_not_mapped)
    company = next(m for m in overview.companies if m.id == company_id)
    assert company.missing
    expected = sorted(j["number"] for j in SEED["jobs"]
                      if j["companyId"] == company_id and _open(j))
    assert [j.number for j in company.blocked_jobs] == expected
    assert JOBS.customer_not_mapped in {j.id for j in company.blocked_jobs}


def test_set_writes_the_external_id_and_clear_removes_it(
        mappings: Mappings, servicetrade_emulator: ServiceTradeEmulator) -> None:
    company_id = UNMAPPED_COMPANY["id"]
    change = mappings.set("company", company_id, "  WESTPLAS ")
    assert change.changed
    assert change.mapping.value == "WESTPLAS"
    assert servicetrade_emulator.external_ids("company", company_id) == {"spectrum": "WESTPLAS"}
    assert change.describe() == ("Company 'Westfield Plastics' now maps to Spectrum customer "
                                 "'WESTPLAS' for system 'spectrum'.")
    again = mappings.set("company", company_id, "WESTPLAS")
    assert not again.changed
    assert "nothing changed" in again.describe()
    cleared = mappings.set("company", company_id, "")
    assert cleared.mapping.missing
    assert servicetrade_emulator.external_ids("company", company_id) == {}
    assert "no longer maps to a Spectrum customer" in cleared.describe()
    assert "(it was 'WESTPLAS')" in cleared.describe()


def test_a_value_another_record_holds_is_refused_naming_that_record(
        mappings: Mappings, servicetrade_emulator: ServiceTradeEmulator) -> None:
    with pytest.raises(MappingRefused) as refused:
        mappings.set("company", UNMAPPED_COMPANY["id"], "ACMEMFG")
    assert refused.value.duplicate
    assert refused.value.holder is not None
    assert refused.value.holder.id == MAPPED_COMPANY["id"]
    assert "Acme Manufacturing" in refused.value.message
    assert "only once per system" in refused.value.message
    assert servicetrade_emulator.external_ids("company", UNMAPPED_COMPANY["id"]) == {}


def test_values_are_checked_against_spectrum_lengths_before_writing(
        mappings: Mappings, servicetrade_emulator: ServiceTradeEmulator) -> None:
    servicetrade_emulator.clear_requests()
    with pytest.raises(InvalidMappingValue, match="Bill_Customer_Code accepts at most 10"):
        mappings.set("company", UNMAPPED_COMPANY["id"], "WESTFIELDPLASTICS")
    with pytest.raises(InvalidMappingValue, match="control character"):
        mappings.set("location", SEED["locations"][0]["id"], "S1\t2")
    assert not servicetrade_emulator.requests  # nothing was even read


def test_unknown_records_and_unreachable_servicetrade(
        mappings: Mappings, servicetrade_emulator: ServiceTradeEmulator) -> None:
    with pytest.raises(MappingRecordNotFound, match="no contract with ID 42"):
        mappings.set("contract", 42, "SC1")
    servicetrade_emulator.inject("http_503", path_prefix="/api/company", count=5)
    with pytest.raises(MappingUnavailable, match="try again"):
        mappings.overview()
