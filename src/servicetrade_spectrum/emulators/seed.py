"""Seed data shared by both emulators: one fire-protection / mechanical contractor.

"Northwind Fire & Mechanical" runs its jobs in ServiceTrade and its books in Spectrum. The
ServiceTrade account's companies, locations and contracts carry ``spectrum`` external IDs that
point at customers, sites and contracts that exist in the Spectrum emulator's seed, except
where a gap is deliberate (so every failure kind can be shown):

* companies 30-33 have no Spectrum customer code (``customer_not_mapped``);
* company 34 is mapped to ``GHOSTCO``, which Spectrum does not know (``rejected_by_spectrum``);
* every seventh location has no Spectrum site ID (``site_not_mapped``);
* every third contract is unmapped (sent with a blank Contract_Number).

Everything is generated from fixed lists with a fixed random seed, so two runs (and the two
emulators) always agree. The ``state`` dictionaries are exactly what each emulator's
``--data FILE`` accepts as JSON.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DEMO_AUTHORIZATION_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_COMPANY_CODE",
    "DEMO_OAUTH_CLIENT_ID",
    "DEMO_OAUTH_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "INACTIVE_AUTHORIZATION_ID",
    "LIMITED_AUTHORIZATION_ID",
    "NotableJobs",
    "notable_jobs",
    "servicetrade_state",
    "spectrum_state",
]

# --- credentials the emulators accept (demo and tests only; never real secrets) -------------
DEMO_AUTHORIZATION_ID: Final = "ryvAB12cd34"
LIMITED_AUTHORIZATION_ID: Final = "readOnly77"  # GetCustomers only: not authorized for WOs
INACTIVE_AUTHORIZATION_ID: Final = "oldID2019"  # status Inactive
DEMO_COMPANY_CODE: Final = "1"
DEMO_CLIENT_ID: Final = "northwind-sdx"  # Spectrum enhanced authentication
DEMO_CLIENT_SECRET: Final = "sdx-demo-secret-3f9a"  # noqa: S105 - emulator credential
DEMO_USERNAME: Final = "office@northwind-fire.example"  # ServiceTrade session login
DEMO_PASSWORD: Final = "demo-password"  # noqa: S105 - emulator credential
DEMO_OAUTH_CLIENT_ID: Final = "northwind-st-oauth"  # ServiceTrade OAuth2
DEMO_OAUTH_CLIENT_SECRET: Final = "st-oauth-demo-secret"  # noqa: S105 - emulator credential

SEED: Final = 20261125
SYSTEM: Final = "spectrum"

# (name, Spectrum customer code, city, state, number of locations)
_CUSTOMERS: Final = [
    ("Mercy General Hospital", "MERCYGEN", "Columbus", "OH", 3),
    ("Lakeview School District", "LAKEVIEWSD", "Dayton", "OH", 3),
    ("Harbor Freight Logistics", "HARBORLOG", "Toledo", "OH", 2),
    ("Summit Office Park", "SUMMITOP", "Akron", "OH", 2),
    ("Grandview Hotel Group", "GRANDVIEW", "Cincinnati", "OH", 2),
    ("Riverside Apartments", "RIVERAPTS", "Columbus", "OH", 2),
    ("Acme Manufacturing", "ACMEMFG", "Cleveland", "OH", 2),
    ("St. Luke's Senior Living", "STLUKES", "Dublin", "OH", 1),
    ("Buckeye Cold Storage", "BUCKEYECS", "Marion", "OH", 1),
    ("First Federal Bank", "FIRSTFED", "Columbus", "OH", 3),
    ("Oak Hill Church", "OAKHILLCH", "Westerville", "OH", 1),
    ("Metro Transit Authority", "METROTRANS", "Columbus", "OH", 2),
    ("Pinecrest Mall", "PINECREST", "Mason", "OH", 1),
    ("Valley Data Center", "VALLEYDC", "New Albany", "OH", 1),
    ("Kessler Foods", "KESSLER", "Springfield", "OH", 2),
    ("Northgate Medical Offices", "NGMEDICAL", "Worthington", "OH", 1),
    ("Cedar Point Marina", "CEDARPT", "Sandusky", "OH", 1),
    ("Union Station Lofts", "UNIONLOFT", "Cleveland", "OH", 1),
    ("Franklin County Courthouse", "FRANKCTY", "Columbus", "OH", 1),
    ("Ohio Valley Brewing", "OVBREWING", "Athens", "OH", 1),
    ("Parkside Elementary", "PARKSIDE", "Hilliard", "OH", 1),
    ("Redwood Storage", "REDWOODST", "Grove City", "OH", 2),
    ("Tri-State Distribution", "TRISTATE", "Lima", "OH", 1),
    ("Maple Leaf Nursing", "MAPLELEAF", "Newark", "OH", 1),
    ("Crown Plaza Tower", "CROWNPLZ", "Cincinnati", "OH", 1),
    ("Eastgate Auto Group", "EASTGATE", "Batavia", "OH", 1),
    ("Heritage Library", "HERITAGE", "Delaware", "OH", 1),
    ("Sunrise Dental", "SUNRISEDEN", "Gahanna", "OH", 1),
    ("Blue Line Fitness", "BLUELINE", "Dublin", "OH", 1),
    ("Olentangy Labs", "OLENTANGY", "Powell", "OH", 1),
    # 30-33: not mapped in ServiceTrade (Spectrum may or may not know them).
    ("Birchwood Condominiums", "BIRCHWOOD", "Kent", "OH", 1),
    ("Quarry Ridge Golf Club", "QUARRYRDG", "Granville", "OH", 1),
    ("Westfield Plastics", "", "Findlay", "OH", 1),
    ("Silver Lake Arena", "", "Stow", "OH", 1),
    # 34: mapped to a code Spectrum does not have.
    ("Ghost Property Partners", "GHOSTCO", "Xenia", "OH", 1),
]
_UNMAPPED_COMPANIES: Final = frozenset({30, 31, 32, 33})
_UNKNOWN_IN_SPECTRUM: Final = frozenset({"GHOSTCO"})
# Customers Spectrum knows that ServiceTrade never mentions (for GetCustomers listings).
_SPECTRUM_ONLY: Final = [
    ("Legacy Paper Mill", "LEGACYPM", "Chillicothe", "OH"),
    ("Canal Winchester Schools", "CWSCHOOLS", "Canal Winchester", "OH"),
    ("Old Dominion Freight", "OLDDOMFRT", "Zanesville", "OH"),
]

_STREETS: Final = ["Main St", "High St", "Broad St", "Park Ave", "Industrial Pkwy",
                   "Commerce Dr", "Lakeshore Blvd", "Riverside Dr", "Oak St", "Market St"]
_LOCATION_KINDS: Final = ["Main Campus", "North Building", "Warehouse", "Annex", "East Wing"]
_JOB_TYPES: Final = ["inspection", "repair", "service_call", "installation",
                     "preventative_maintenance", "emergency_service"]
_JOB_STATUSES: Final = ["new", "scheduled", "scheduled", "completed", "completed", "closed",
                        "canceled"]
_WORK: Final = [
    "Annual fire sprinkler inspection per NFPA 25",
    "Quarterly fire alarm test and inspection",
    "Replace corroded 4\" OS&Y gate valve on riser 2",
    "Backflow preventer test & certification",
    "Kitchen hood suppression system semi-annual service",
    "Fire extinguisher annual maintenance (42 units)",
    "RTU-3 not cooling: diagnose compressor",
    "Boiler #2 low water cutoff replacement",
    "Repair leaking sprinkler head in stairwell B",
    "Emergency call: dry system air compressor failure",
    "Install 6 additional pendant heads in new office suite",
    "Fire pump annual flow test",
    "Chiller preventive maintenance, spring start-up",
    "Replace failed smoke detectors on floors 3-5",
]
_TAGS: Final = ["priority", "warranty", "after-hours", "nfpa25", "billable", "rebate"]
_WO_TYPES: Final = ["SVC", "INSP", "REPR", "PM", "EMER", "INST"]
_LEAD_SOURCES: Final = ["WEB", "REFERRAL", "REPEAT", "CONTRACT", "PHONE"]

# Large IDs on purpose: ServiceTrade IDs reach about 2**53 and must never become floats.
_COMPANY_ID_BASE: Final = 2_950_000_000_000_000
_LOCATION_ID_BASE: Final = 2_960_000_000_000_000
_CONTRACT_ID_BASE: Final = 2_970_000_000_000_000
_JOB_ID_BASE: Final = 3_100_000_000_000_000
_FIRST_JOB_NUMBER: Final = 10001
_JOB_COUNT: Final = 300
_CREATED_EPOCH: Final = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class NotableJobs:
    """Job IDs in the seed with a known outcome, for the demo and the tests."""

    ready: int
    """Fully mapped customer, site and contract: sends cleanly."""
    ready_without_contract: int
    """Mapped customer and site, no contract on the job."""
    unmapped_contract: int
    """Has a contract that is not mapped: sent with a blank Contract_Number."""
    customer_not_mapped: int
    site_not_mapped: int
    unknown_customer_code: int
    """Mapped to GHOSTCO, which Spectrum rejects."""
    long_summary: int
    """Description longer than 250 characters: cut with a warning."""
    long_po: int
    """Customer PO of 31 characters: refused before sending."""
    special_characters: int
    """Description and PO with ``& < > " '`` and control characters."""


def _rng() -> random.Random:
    return random.Random(SEED)


def _locations() -> list[dict[str, Any]]:
    """One row per (company index, location index), with its Spectrum site ID or ''."""
    rows: list[dict[str, Any]] = []
    serial = 0
    for company_index, (name, code, city, state, count) in enumerate(_CUSTOMERS):
        for n in range(count):
            serial += 1
            site_id = f"S{10000 + serial}"
            unknown = code in _UNKNOWN_IN_SPECTRUM  # keep its site mapped: two rejected rows
            mapped = (serial % 7 != 0 or unknown) and company_index not in _UNMAPPED_COMPANIES
            rows.append({
                "company_index": company_index,
                "id": _LOCATION_ID_BASE + serial,
                "name": f"{name} - {_LOCATION_KINDS[n % len(_LOCATION_KINDS)]}",
                "street": f"{100 + serial * 7} {_STREETS[serial % len(_STREETS)]}",
                "city": city,
                "state": state,
                "postalCode": f"43{serial % 1000:03d}",
                "site_id": site_id,
                "mapped": mapped,
            })
    return rows


def _contracts() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for company_index, (name, code, *_rest) in enumerate(_CUSTOMERS):
        if company_index % 2 or not code or code in _UNKNOWN_IN_SPECTRUM:
            continue  # every other customer has a service agreement
        serial = len(rows) + 1
        rows.append({
            "company_index": company_index,
            "id": _CONTRACT_ID_BASE + serial,
            "name": f"{name} Service Agreement 2026",
            "number": f"SC26{serial:03d}",
            "mapped": serial % 3 != 0,
        })
    return rows


def spectrum_state() -> dict[str, Any]:
    """The Spectrum emulator's seed: companies, authorizations, customers, sites, contracts."""
    customers = [
        {"Company_Code": DEMO_COMPANY_CODE, "Customer_Code": code, "Name": name[:30],
         "Address_1": f"{200 + i * 11} {_STREETS[i % len(_STREETS)]}", "City": city,
         "State": state, "Zip_Code": f"43{i:03d}", "Phone": f"614555{1000 + i:04d}",
         "Status": "A", "Terms_Code": "N", "Sales_Tax_Code": "OH-FRANK"}
        for i, (name, code, city, state, *_rest) in enumerate(_CUSTOMERS)
        if code and code not in _UNKNOWN_IN_SPECTRUM
    ]
    customers += [
        {"Company_Code": DEMO_COMPANY_CODE, "Customer_Code": code, "Name": name,
         "Address_1": "1 Mill Rd", "City": city, "State": state, "Zip_Code": "43600",
         "Phone": "", "Status": "I" if code == "LEGACYPM" else "A", "Terms_Code": "N",
         "Sales_Tax_Code": "OH-FRANK"}
        for name, code, city, state in _SPECTRUM_ONLY
    ]
    sites = [
        {"Company_Code": DEMO_COMPANY_CODE, "Site_ID": loc["site_id"],
         "Site_Name": loc["name"][:30], "Site_Address1": loc["street"],
         "Site_City": loc["city"], "Site_State": loc["state"],
         "Site_Zip_Code": loc["postalCode"],
         "Site_Customer_Code": _CUSTOMERS[loc["company_index"]][1], "Status": "A"}
        for loc in _locations()
        if _CUSTOMERS[loc["company_index"]][1] not in _UNKNOWN_IN_SPECTRUM
    ]
    contracts = [
        {"Company_Code": DEMO_COMPANY_CODE, "Contract_Number": c["number"],
         "Customer_Code": _CUSTOMERS[c["company_index"]][1], "Description": c["name"][:30],
         "Status": "A"}
        for c in _contracts()
    ]
    all_services = ["WorkOrderHeader", "GetCustomers", "AddCustomer", "AddWOSiteAddress",
                    "WOHeaderNotes", "GetJob"]
    return {
        "companies": {
            DEMO_COMPANY_CODE: {"name": "Northwind Fire & Mechanical",
                                "default_site_wo_type": "", "require_lead_source": False,
                                "work_order_types": list(_WO_TYPES),
                                "lead_sources": list(_LEAD_SOURCES)},
            "2": {"name": "Northwind Mechanical Services", "default_site_wo_type": "SVC",
                  "require_lead_source": True, "work_order_types": list(_WO_TYPES),
                  "lead_sources": list(_LEAD_SOURCES)},
        },
        "authorizations": [
            {"authorization_id": DEMO_AUTHORIZATION_ID, "status": "A",
             "companies": [DEMO_COMPANY_CODE, "2"], "default_company": DEMO_COMPANY_CODE,
             "operator": "STI", "services": all_services},
            {"authorization_id": LIMITED_AUTHORIZATION_ID, "status": "A",
             "companies": [DEMO_COMPANY_CODE], "default_company": DEMO_COMPANY_CODE,
             "operator": "RPT", "services": ["GetCustomers"]},
            {"authorization_id": INACTIVE_AUTHORIZATION_ID, "status": "I",
             "companies": [DEMO_COMPANY_CODE], "default_company": DEMO_COMPANY_CODE,
             "operator": "OLD", "services": all_services},
        ],
        "oauth_clients": [
            {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
             "self_rotation": True, "secret_lifetime_days": 90},
        ],
        "customers": customers,
        "sites": sites,
        "contracts": contracts,
        "work_orders": [],
        "next_work_order_number": 700001,
    }


def _job_description(rng: random.Random, work: str, location_name: str) -> str:
    extra = rng.choice(["", " Customer reports issue since Monday.", " Access via loading dock.",
                        " Call site contact 30 min before arrival."])
    return f"{work} at {location_name}.{extra}"


def _jobs(locations: list[dict[str, Any]], contracts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = _rng()
    contract_by_company = {c["company_index"]: c for c in contracts}
    jobs = []
    for n in range(_JOB_COUNT):
        loc = locations[n % len(locations)]
        company_index = loc["company_index"]
        contract = contract_by_company.get(company_index) if n % 4 else None
        number = _FIRST_JOB_NUMBER + n
        created = _CREATED_EPOCH + n * 86_400 // 3
        job_type = _JOB_TYPES[n % len(_JOB_TYPES)]
        work = _WORK[(n * 5) % len(_WORK)]
        jobs.append({
            "id": _JOB_ID_BASE + n * 37 + 1,
            "number": number,
            "name": f"{job_type.replace('_', ' ').title()} - {loc['name']}",
            "description": _job_description(rng, work, loc["name"]),
            "customerPo": f"PO-{rng.randint(10000, 99999)}" if n % 3 == 0 else "",
            "type": job_type,
            "status": _JOB_STATUSES[n % len(_JOB_STATUSES)],
            "company_index": company_index,
            "location_id": loc["id"],
            "contract_id": contract["id"] if contract else None,
            "tags": [_TAGS[n % len(_TAGS)]] if n % 5 == 0 else [],
            "created": created,
            "updated": created + 3600,
            "scheduledDate": created + 3 * 86_400,
        })
    return jobs


def _company_row(index: int) -> dict[str, Any]:
    name, code, city, state, _count = _CUSTOMERS[index]
    mapped = bool(code) and index not in _UNMAPPED_COMPANIES
    return {"id": _COMPANY_ID_BASE + index + 1, "name": name,
            "address": {"street": f"{200 + index * 11} {_STREETS[index % len(_STREETS)]}",
                        "city": city, "state": state, "postalCode": f"43{index:03d}"},
            "status": "active", "customer": True, "vendor": False,
            "externalIds": {SYSTEM: code} if mapped else {}}


def _special_jobs(jobs: list[dict[str, Any]]) -> None:
    """Give a few seeded jobs the awkward values the tests and the demo need."""
    special = notable_jobs()
    by_id = {job["id"]: job for job in jobs}
    by_id[special.long_summary]["description"] = (
        "Full building fire protection survey. " * 12
    ).strip()
    by_id[special.long_po]["customerPo"] = "PO-2026-FACILITIES-000123456789"  # 31 chars
    by_id[special.special_characters]["description"] = (
        'Replace 2" valve & check <riser> \'B\' \x07 at "Tom & Jerry\'s" kitchen'
    )
    by_id[special.special_characters]["customerPo"] = "A&B<7>\"q\""


def _job_id(n: int) -> int:
    return _JOB_ID_BASE + n * 37 + 1


def notable_jobs() -> NotableJobs:
    """Seed jobs chosen for their mappings; see the module docstring for the gaps."""
    locations = _locations()
    contracts = _contracts()
    contracted = {c["company_index"]: c for c in contracts}

    def first(predicate: Any) -> int:
        for n in range(_JOB_COUNT):
            loc = locations[n % len(locations)]
            company_index = loc["company_index"]
            contract = contracted.get(company_index) if n % 4 else None
            if predicate(n, loc, company_index, contract):
                return _job_id(n)
        raise LookupError("seed has no such job")

    def fully_mapped(loc: dict[str, Any], ci: int) -> bool:
        code = _CUSTOMERS[ci][1]
        return (loc["mapped"] and ci not in _UNMAPPED_COMPANIES and bool(code)
                and code not in _UNKNOWN_IN_SPECTRUM)

    ready = first(lambda n, loc, ci, c: fully_mapped(loc, ci) and c is not None and c["mapped"])
    taken = {ready}

    def fresh(predicate: Any) -> int:
        job_id = first(lambda n, loc, ci, c: _job_id(n) not in taken and predicate(n, loc, ci, c))
        taken.add(job_id)
        return job_id

    return NotableJobs(
        ready=ready,
        ready_without_contract=fresh(lambda n, loc, ci, c: fully_mapped(loc, ci) and c is None),
        unmapped_contract=fresh(
            lambda n, loc, ci, c: fully_mapped(loc, ci) and c is not None and not c["mapped"]),
        customer_not_mapped=fresh(lambda n, loc, ci, c: ci in _UNMAPPED_COMPANIES),
        site_not_mapped=fresh(
            lambda n, loc, ci, c: not loc["mapped"] and ci not in _UNMAPPED_COMPANIES
            and _CUSTOMERS[ci][1] not in _UNKNOWN_IN_SPECTRUM),
        unknown_customer_code=fresh(
            lambda n, loc, ci, c: _CUSTOMERS[ci][1] in _UNKNOWN_IN_SPECTRUM and loc["mapped"]),
        long_summary=fresh(lambda n, loc, ci, c: fully_mapped(loc, ci)),
        long_po=fresh(lambda n, loc, ci, c: fully_mapped(loc, ci)),
        special_characters=fresh(lambda n, loc, ci, c: fully_mapped(loc, ci)),
    )


def servicetrade_state() -> dict[str, Any]:
    """The ServiceTrade emulator's seed: users, companies, locations, contracts, jobs."""
    locations = _locations()
    contracts = _contracts()
    companies = [_company_row(i) for i in range(len(_CUSTOMERS))]
    company_id = {i: row["id"] for i, row in enumerate(companies)}
    location_rows = [
        {"id": loc["id"], "name": loc["name"], "companyId": company_id[loc["company_index"]],
         "address": {"street": loc["street"], "city": loc["city"], "state": loc["state"],
                     "postalCode": loc["postalCode"]},
         "status": "active",
         "externalIds": {SYSTEM: loc["site_id"]} if loc["mapped"] else {}}
        for loc in locations
    ]
    contract_rows = [
        {"id": c["id"], "name": c["name"], "companyId": company_id[c["company_index"]],
         "status": "active", "externalIds": {SYSTEM: c["number"]} if c["mapped"] else {}}
        for c in contracts
    ]
    jobs = _jobs(locations, contracts)
    _special_jobs(jobs)
    job_rows = []
    for job in jobs:
        row = {k: v for k, v in job.items() if k not in ("company_index", "location_id",
                                                          "contract_id")}
        row["companyId"] = company_id[job["company_index"]]
        row["locationId"] = job["location_id"]
        row["contractId"] = job["contract_id"]
        row["externalIds"] = {}
        job_rows.append(row)
    return {
        "users": [{"id": 41, "username": DEMO_USERNAME, "password": DEMO_PASSWORD,
                   "name": "Pat Office", "email": DEMO_USERNAME}],
        "oauth_clients": [{"client_id": DEMO_OAUTH_CLIENT_ID,
                           "client_secret": DEMO_OAUTH_CLIENT_SECRET}],
        "companies": companies,
        "locations": location_rows,
        "contracts": contract_rows,
        "jobs": job_rows,
        "comments": [],
        "webhooks": [],
    }
