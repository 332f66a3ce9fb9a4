"""The emulated Spectrum database: what the services read and write.

The state is kept in the seed's dictionary format (``seed.spectrum_state()``), indexed by
(company, code) for the lookups the services make. One re-entrant lock guards it all: the
server thread writes while tests read from theirs, and a service call must see (and leave)
a consistent picture.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

__all__ = ["Key", "Record", "SpectrumState"]

Record = dict[str, str]
"""One row: element (column) name to its trimmed text."""
Key = tuple[str, str]
"""(Company_Code, code) — every business record is per company."""


def _index(rows: list[dict[str, Any]], code_field: str) -> dict[Key, Record]:
    return {(str(row["Company_Code"]), str(row[code_field])):
            {name: "" if value is None else str(value) for name, value in row.items()}
            for row in rows}


class SpectrumState:
    """Companies, Authorization IDs, OAuth clients, customers, sites, contracts, work orders."""

    def __init__(self, data: dict[str, Any]) -> None:
        data = copy.deepcopy(data)
        self.lock = threading.RLock()
        self.companies: dict[str, dict[str, Any]] = dict(data.get("companies", {}))
        self.authorizations: dict[str, dict[str, Any]] = {
            str(a["authorization_id"]): a for a in data.get("authorizations", [])}
        self.oauth_clients: dict[str, dict[str, Any]] = {
            str(c["client_id"]): c for c in data.get("oauth_clients", [])}
        self.customers = _index(data.get("customers", []), "Customer_Code")
        self.sites = _index(data.get("sites", []), "Site_ID")
        self.contracts = _index(data.get("contracts", []), "Contract_Number")
        self.jobs = _index(data.get("jobs", []), "Job_Number")
        """Spectrum jobs, for ``J`` work orders; optional in the seed format."""
        self.work_orders = _index(data.get("work_orders", []), "WO_Number")
        self.next_work_order_number = int(data.get("next_work_order_number", 1))
        self.guids: dict[str, str] = {}
        """GUID -> the Authorization ID that first used it (not persisted: sessions)."""

    @classmethod
    def from_file(cls, path: str | Path) -> SpectrumState:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        """The state in the seed format, so a dump can be fed back with ``--data``."""
        with self.lock:
            data: dict[str, Any] = {
                "companies": copy.deepcopy(self.companies),
                "authorizations": copy.deepcopy(list(self.authorizations.values())),
                "oauth_clients": copy.deepcopy(list(self.oauth_clients.values())),
                "customers": [dict(r) for r in self.customers.values()],
                "sites": [dict(r) for r in self.sites.values()],
                "contracts": [dict(r) for r in self.contracts.values()],
                "work_orders": [dict(r) for r in self.work_orders.values()],
                "next_work_order_number": self.next_work_order_number,
            }
            if self.jobs:
                data["jobs"] = [dict(r) for r in self.jobs.values()]
            return data

    def allocate_work_order_number(self, company: str) -> str:
        """The next free number from the counter, skipping numbers already taken by hand."""
        with self.lock:
            while True:
                number = str(self.next_work_order_number)
                self.next_work_order_number += 1
                if (company, number) not in self.work_orders:
                    return number
