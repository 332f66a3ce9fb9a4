"""Listing companies, locations and contracts with their external IDs (the mappings page reads
each list once per view, so the number of calls matters as much as the result)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from servicetrade_spectrum.emulators.seed import servicetrade_state
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.servicetrade import Company, ServiceTradeClient

MakeClient = Callable[..., ServiceTradeClient]
SEED = servicetrade_state()


def _list_calls(emulator: ServiceTradeEmulator, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in emulator.requests if r.path == path]


def test_list_companies_reads_every_company_with_its_mapping_in_one_call(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    companies = client.list_companies()
    assert [c.id for c in companies] == sorted(row["id"] for row in SEED["companies"])
    assert all(isinstance(c, Company) for c in companies)
    by_name = {c.name: c for c in companies}
    assert by_name["Mercy General Hospital"].external_ids == {"spectrum": "MERCYGEN"}
    assert by_name["Westfield Plastics"].external_ids == {}  # unmapped in the seed
    calls = _list_calls(emulator, "/api/company")
    assert len(calls) == 1
    assert calls[0]["limit"] == ["2000"]  # ServiceTrade's largest page
    assert not [r for r in emulator.requests if r.path.startswith("/api/externalid/")]


def test_list_locations_and_contracts_carry_their_company_and_mapping(
        client: ServiceTradeClient) -> None:
    locations = client.list_locations()
    contracts = client.list_contracts()
    assert len(locations) == len(SEED["locations"])
    assert len(contracts) == len(SEED["contracts"])
    seeded = {row["id"]: row for row in SEED["locations"]}
    for location in locations:
        assert location.external_ids == seeded[location.id]["externalIds"]
        assert location.company is not None
        assert location.company.id == seeded[location.id]["companyId"]
    mapped = [c for c in contracts if c.external_ids.get("spectrum")]
    assert mapped
    assert len(mapped) < len(contracts)  # the seed leaves some unmapped


def test_lists_follow_every_page(client: ServiceTradeClient,
                                 emulator: ServiceTradeEmulator) -> None:
    locations = client.list_locations(page_size=7)
    assert len(locations) == len(SEED["locations"])
    assert len({loc.id for loc in locations}) == len(locations)
    pages = [int(q["page"][0]) for q in _list_calls(emulator, "/api/location")]
    assert pages == list(range(1, -(-len(SEED["locations"]) // 7) + 1))


def test_lists_without_external_ids_are_completed_from_the_resource(
        make_client: MakeClient, shared_server: Any) -> None:
    emulator = ServiceTradeEmulator(entity_external_ids=False)
    shared_server[1].target = emulator.app
    try:
        contracts = make_client().list_contracts()
    finally:
        emulator.close()
    assert {c.id: c.external_ids for c in contracts} == {
        row["id"]: row["externalIds"] for row in SEED["contracts"]}
    lookups = [r.path for r in emulator.requests if r.path.startswith("/api/externalid/")]
    assert sorted(lookups) == sorted(f"/api/externalid/contract/{row['id']}"
                                     for row in SEED["contracts"])


def test_list_page_size_is_checked(client: ServiceTradeClient) -> None:
    with pytest.raises(ValueError, match="page_size"):
        client.list_companies(page_size=2001)
