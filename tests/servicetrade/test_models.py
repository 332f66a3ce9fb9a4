"""The typed records: tolerant of new fields, strict about IDs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from servicetrade_spectrum.servicetrade import Company, Job, Location


def test_job_from_the_wire() -> None:
    job = Job.model_validate({
        "id": 9007199254740993, "number": 10452, "customerPo": "PO-1", "status": "new",
        "customer": {"id": 2950000000000001, "name": "Acme"},
        "location": {"id": 2960000000000001, "name": "Main", "address": {"city": "Columbus"}},
        "contract": None, "tags": [{"id": 1, "name": "priority"}, "warranty"],
        "externalIds": {"spectrum": "T10452"}, "brandNew": [1, 2]})
    assert job.id == 9007199254740993
    assert job.customer_po == "PO-1"
    assert job.tag_names == ["priority", "warranty"]
    assert job.location is not None
    assert job.location.address is not None
    assert job.location.address.city == "Columbus"
    assert job.external_ids == {"spectrum": "T10452"}
    assert job.model_extra == {"brandNew": [1, 2]}
    assert job.model_dump(by_alias=True)["customerPo"] == "PO-1"


@pytest.mark.parametrize("bad_id", [3.1e15, "3100000000000038", True])
def test_ids_must_be_json_integers(bad_id: object) -> None:
    with pytest.raises(ValidationError):
        Company.model_validate({"id": bad_id, "name": "x"})


def test_php_empty_external_ids() -> None:
    assert Location.model_validate({"id": 1, "externalIds": []}).external_ids == {}
