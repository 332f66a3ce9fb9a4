"""The jobs use case against the ServiceTrade emulator: the search's bounds, and the overview
judged with the same rules (and words) as a send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.store import NotFound, Store
from servicetrade_spectrum.sync import (
    ClientPool,
    JobSearch,
    SendService,
    job_overview,
    parse_job_id,
    search_jobs,
)


@pytest.fixture
def clients(settings: Settings) -> Iterator[ClientPool]:
    pool = ClientPool(settings)
    yield pool
    pool.close()


def _account_id(store: Store) -> int:
    return store.account("Northwind").id


def test_the_text_search_stops_at_its_bound_and_says_so(configured: Store,
                                                        clients: ClientPool) -> None:
    listing = search_jobs(configured, clients, _account_id(configured),
                          JobSearch(text="no such job"), scan_limit=50)
    assert listing.rows == []
    assert listing.scanned == 50
    assert listing.scan_limited


def test_a_search_lists_at_most_its_show_limit(configured: Store, clients: ClientPool) -> None:
    listing = search_jobs(configured, clients, _account_id(configured), JobSearch(),
                          show_limit=10)
    assert len(listing.rows) == 10
    assert listing.show_limited
    assert not listing.scan_limited


def test_the_status_filter_is_applied_by_servicetrade(configured: Store, clients: ClientPool,
                                                      servicetrade_emulator: ServiceTradeEmulator
                                                      ) -> None:
    listing = search_jobs(configured, clients, _account_id(configured),
                          JobSearch(status="canceled"))
    assert listing.rows
    assert {row.status for row in listing.rows} == {"canceled"}
    searches = [r for r in servicetrade_emulator.requests if r.path == "/api/job"]
    assert searches
    assert all("status=canceled" in r.query for r in searches)


def test_a_status_that_is_not_a_word_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a job status"):
        JobSearch(status="new,closed")


@pytest.mark.parametrize("text", ["abc", "-1", "0", "1.5", "١٢", "9" * 21])
def test_only_positive_integers_are_job_ids(text: str) -> None:
    with pytest.raises(NotFound):
        parse_job_id(text)


def test_the_overview_gives_the_same_failure_as_a_send(configured: Store, clients: ClientPool,
                                                       jobs: seed.NotableJobs) -> None:
    overview = job_overview(configured, clients, _account_id(configured),
                            jobs.customer_not_mapped)
    [main] = overview.connections
    preview = SendService(configured, clients).preview(jobs.customer_not_mapped, "Main")
    assert main.blocker == preview.failure
    missing = {m.element: m.missing for m in main.mappings if m.missing}
    assert set(missing) == {"Bill_Customer_Code", "WO_Job_Number"}
    assert preview.failure is not None
    for failure in missing.values():
        assert failure is not None
        assert failure.fix in preview.failure.fix


def test_the_overview_of_a_ready_job_has_every_value(configured: Store, clients: ClientPool,
                                                     jobs: seed.NotableJobs) -> None:
    overview = job_overview(configured, clients, _account_id(configured), jobs.ready)
    [main] = overview.connections
    assert main.blocker is None
    assert main.draft is not None
    values = {m.element: m.value for m in main.mappings}
    for element in ("Bill_Customer_Code", "WO_Job_Number", "Contract_Number"):
        assert values[element] == main.draft.fields[element]
    assert main.work_order_number == main.draft.number
    assert not main.is_resend
    assert main.sendable


def test_a_job_the_account_does_not_have_is_not_found(configured: Store,
                                                      clients: ClientPool) -> None:
    with pytest.raises(NotFound, match="no job with ID 12345"):
        job_overview(configured, clients, _account_id(configured), 12345)
