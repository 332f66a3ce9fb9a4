"""The business rules of each emulated service: what Spectrum accepts, refuses and stores.

Every check runs and every problem is reported together, one row each, as Spectrum does; a
call with any problem stores nothing. Authorization comes first and answers alone: a call
that is not authorized learns nothing about its data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from servicetrade_spectrum.emulators.spectrum._requests import SoapCall
from servicetrade_spectrum.emulators.spectrum._responses import Column, Row
from servicetrade_spectrum.emulators.spectrum._state import Record, SpectrumState

__all__ = [
    "CUSTOMER_COLUMNS",
    "MAX_RECORDS",
    "NOT_AUTHORIZED",
    "SUCCESS_STYLES",
    "TIME_OUT",
    "TOO_MANY_RECORDS",
    "Answer",
    "perform",
]

NOT_AUTHORIZED: Final = ("The Web Service is not authorized. Authorization ID is not setup in "
                         "the system.")
TIME_OUT: Final = "Time out has occurred"
TOO_MANY_RECORDS: Final = ("WARNING - Number of returnable records exceeds maximum number of "
                           "records allowed.")
MAX_RECORDS: Final = 500
SUCCESS_STYLES: Final = ("none", "blank_row", "info_row")
"""How a put service says "done": no row, one blank row, or a ``G`` row naming the record."""

CUSTOMER_COLUMNS: Final = (
    Column("Company_Code", 3), Column("Customer_Code", 10), Column("Name", 30),
    Column("Address_1", 30), Column("City", 25), Column("State", 2), Column("Zip_Code", 10),
    Column("Phone", 14), Column("Status", 1),
)
_STATUS_FILTERS: Final[Mapping[str, frozenset[str] | None]] = {
    "": frozenset({"A"}), "I": frozenset({"A", "I"}), "ALL": None}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a service answers: status rows, plus data rows for get services."""

    rows: list[Row]
    records: list[Record] | None = None
    """``None`` for put services; the data rows (possibly none) for get services."""
    columns: tuple[Column, ...] = ()


# --- value checks ---------------------------------------------------------------------------

def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
        return False
    try:
        datetime.strptime(value, "%m/%d/%Y")
    except ValueError:
        return False
    return True


def _is_time(value: str) -> bool:
    match = re.fullmatch(r"(\d{2}):?(\d{2}):?(\d{2})", value)
    if match is None:
        return False
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours < 24 and minutes < 60 and seconds < 60


_DIGITS = _matches(r"[0-9]+")
_AMOUNT = _matches(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
_DECIMAL = _matches(r"-?[0-9]{1,3}(\.[0-9]+)?")

_WORK_ORDER_FORMATS: Final[Mapping[str, Callable[[str], bool]]] = {
    "WO_Reference_Code": lambda v: v in ("S", "J"),
    "WO_Phone1": _DIGITS, "WO_Phone2": _DIGITS,
    "Price_Type": lambda v: v in ("F", "T"),
    "Total_Quote_Amount": _AMOUNT, "Projected_Hours": _AMOUNT,
    **{name: _is_date for name in ("Ordered_Date", "Requested_Date", "Scheduled_Start_Date",
                                   "Date_Assigned", "Arrival_Date", "Complete_Date")},
    **{name: (lambda v: len(v) == 6 and _is_time(v))
       for name in ("Time_Entered", "Estimated_Complete_Time", "Scheduled_Start_Time",
                    "Time_Assigned", "Arrival_Time")},
    "Complete_Time": _is_time,
    "Taxable_Flag": lambda v: v in ("Y", "N"),
    "Override_ERO_Markup": _matches(r"[0-9]{1,3}(\.[0-9]{1,2})?"),
    "Material_Price_Level": _matches(r"[1-5]"), "Price_Level": _matches(r"[1-5]"),
}
_CUSTOMER_FORMATS: Final[Mapping[str, Callable[[str], bool]]] = {
    "Customer_Code": _matches(r"[A-Z0-9]+"),
    "Name": lambda v: "," not in v,
}
_SITE_FORMATS: Final[Mapping[str, Callable[[str], bool]]] = {
    "Site_Phone1": _DIGITS,
    "Work_Site_Email": _matches(r"[^@\s]+@[^@\s]+"),
    "Latitude": _DECIMAL, "Longitude": _DECIMAL,
}


@dataclass(slots=True)
class _Problems:
    """The rows of one call, at most one per element, reported in layout order."""

    call: SoapCall
    found: dict[str, Row] = field(default_factory=dict)

    def add(self, code: str, column: str, desc: str) -> None:
        self.found.setdefault(column, Row(code, desc, column))

    def missing(self, column: str) -> None:
        self.add("M", column, f"{column} is required")

    def invalid(self, column: str) -> None:
        self.add("I", column, f"{column} is invalid, value does not match specified field mask")

    def ok(self, column: str) -> bool:
        return column not in self.found

    def check_layout(self, formats: Mapping[str, Callable[[str], bool]]) -> None:
        """Lengths (the layout's maximums), required elements, and value masks."""
        for element in self.call.layout.elements:
            value = self.call.get(element.name)
            if len(value) > element.max_length:
                self.add("I", element.name, f"{element.name} is invalid, value exceeds the "
                         f"maximum length of {element.max_length}")
            elif element.required and not value:
                self.missing(element.name)
            elif value and element.name in formats and not formats[element.name](value):
                self.invalid(element.name)

    def rows(self) -> list[Row]:
        order = {name: i for i, name in enumerate(self.call.layout.names)}
        return sorted(self.found.values(), key=lambda row: order.get(row.column, -1))


def _success(style: str, desc: str, column: str) -> list[Row]:
    if style == "none":
        return []
    if style == "blank_row":
        return [Row("", "", "")]
    return [Row("G", desc, column)]


# --- authorization --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Access:
    authorization: dict[str, Any]
    company: str


def _authorize(state: SpectrumState, call: SoapCall, company_element: str,
               *, company_required: bool = False) -> _Access | list[Row]:
    """The caller's access, or the rows refusing it (``A`` alone, or the company's row)."""
    authorization = state.authorizations.get(call.get("Authorization_ID"))
    service = call.layout.service
    if (authorization is None or authorization.get("status") != "A"
            or service not in authorization.get("services", [])):
        return [Row("A", NOT_AUTHORIZED, "Authorization_ID")]
    guid = call.get("GUID")
    if guid:
        owner = state.guids.setdefault(guid, str(authorization["authorization_id"]))
        if owner != authorization["authorization_id"]:
            return [Row("A", TIME_OUT, "GUID")]
    company = call.get(company_element)
    if not company:
        if company_required:
            return [Row("M", f"{company_element} is required", company_element)]
        company = str(authorization.get("default_company", ""))
    if company not in authorization.get("companies", []) or company not in state.companies:
        return [Row("I", f"Company {company} does not exist or is not authorized for this "
                    "Authorization ID", company_element)]
    return _Access(authorization, company)


# --- services -------------------------------------------------------------------------------

def _work_order_header(state: SpectrumState, call: SoapCall, style: str) -> Answer:
    access = _authorize(state, call, "Company_Code")
    if isinstance(access, list):
        return Answer(access)
    company = access.company
    settings = state.companies[company]
    problems = _Problems(call)
    problems.check_layout(_WORK_ORDER_FORMATS)
    number = call.get("WO_Number")
    existing = state.work_orders.get((company, number)) if number else None
    creating = existing is None

    reference, job_number = call.get("WO_Reference_Code"), call.get("WO_Job_Number")
    if job_number and problems.ok("WO_Job_Number") and problems.ok("WO_Reference_Code"):
        if reference == "S":
            site = state.sites.get((company, job_number))
            if site is None:
                problems.add("I", "WO_Job_Number", f"Site ID {job_number} does not exist")
            elif site.get("Status", "A") != "A":
                problems.add("I", "WO_Job_Number", f"Site ID {job_number} is not active")
        elif (company, job_number) not in state.jobs:
            problems.add("I", "WO_Job_Number", f"Job {job_number} does not exist")

    customer_code = call.get("Bill_Customer_Code")
    if not customer_code and creating:
        problems.missing("Bill_Customer_Code")
    elif customer_code and problems.ok("Bill_Customer_Code"):
        customer = state.customers.get((company, customer_code))
        if customer is None:
            problems.add("I", "Bill_Customer_Code", f"Customer {customer_code} does not exist")
        elif customer.get("Status", "A") != "A":
            problems.add("I", "Bill_Customer_Code", f"Customer {customer_code} is not active")

    contract = call.get("Contract_Number")
    if contract and problems.ok("Contract_Number") and (company, contract) not in state.contracts:
        problems.add("I", "Contract_Number", f"Contract {contract} does not exist")

    division = call.get("WO_Job_Division")
    default_division = str(settings.get("default_site_wo_type") or "") if reference == "S" else ""
    if not division and creating and not default_division:
        problems.missing("WO_Job_Division")
    elif division and problems.ok("WO_Job_Division") and division not in settings.get(
            "work_order_types", []):
        problems.add("I", "WO_Job_Division", f"Work order type {division} does not exist")

    lead_source = call.get("Lead_Source")
    if not lead_source and settings.get("require_lead_source") and (
            existing is None or not existing.get("Lead_Source")):
        problems.missing("Lead_Source")
    elif lead_source and problems.ok("Lead_Source") and lead_source not in settings.get(
            "lead_sources", []):
        problems.add("I", "Lead_Source", f"Lead source {lead_source} does not exist")

    if problems.found:
        return Answer(problems.rows())
    if existing is None:
        number = number or state.allocate_work_order_number(company)
        existing = {name: "" for name in call.layout.names[2:]}
        existing.update(WO_Job_Division=default_division,
                        Taken_By=str(access.authorization.get("operator", "")))
        state.work_orders[(company, number)] = existing
    for name in call.layout.names[4:]:
        value = call.get(name)
        if value:
            existing[name] = value  # blank never clears: the service cannot erase a field
    existing.update(Company_Code=company, WO_Number=number)
    return Answer(_success(style, number, "WO_Number"))


def _get_customers(state: SpectrumState, call: SoapCall, _style: str) -> Answer:
    access = _authorize(state, call, "pCompany_Code")
    if isinstance(access, list):
        return Answer(access, [], CUSTOMER_COLUMNS)
    status = call.get("pStatus").upper()
    if status not in _STATUS_FILTERS:
        return Answer([Row("I", "pStatus is invalid, value does not match specified field mask",
                           "pStatus")], [], CUSTOMER_COLUMNS)
    wanted = _STATUS_FILTERS[status]
    records = sorted(
        (record for (company, _code), record in state.customers.items()
         if company == access.company and (wanted is None or record.get("Status") in wanted)),
        key=lambda record: record["Customer_Code"])
    rows = [Row("W", TOO_MANY_RECORDS, "")] if len(records) > MAX_RECORDS else []
    return Answer(rows, [dict(r) for r in records[:MAX_RECORDS]], CUSTOMER_COLUMNS)


def _add_customer(state: SpectrumState, call: SoapCall, style: str) -> Answer:
    access = _authorize(state, call, "Company_Code")
    if isinstance(access, list):
        return Answer(access)
    problems = _Problems(call)
    problems.check_layout(_CUSTOMER_FORMATS)
    code = call.get("Customer_Code")
    if problems.ok("Customer_Code") and (access.company, code) in state.customers:
        problems.add("I", "Customer_Code", f"Customer {code} already exists")
    if problems.found:
        return Answer(problems.rows())
    record = {name: call.get(name) for name in call.layout.names[2:]}
    record.update(Company_Code=access.company, Status="A")
    state.customers[(access.company, code)] = record
    return Answer(_success(style, code, "Customer_Code"))


def _add_wo_site_address(state: SpectrumState, call: SoapCall, style: str) -> Answer:
    access = _authorize(state, call, "Company_Code", company_required=True)
    if isinstance(access, list):
        return Answer(access)
    company = access.company
    settings = state.companies[company]
    problems = _Problems(call)
    problems.check_layout(_SITE_FORMATS)
    site_id, customer = call.get("Site_ID"), call.get("Site_Customer_Code")
    if problems.ok("Site_ID") and (company, site_id) in state.sites:
        problems.add("I", "Site_ID", f"Site ID {site_id} already exists")
    if customer and problems.ok("Site_Customer_Code") and (
            company, customer) not in state.customers:
        problems.add("I", "Site_Customer_Code", f"Customer {customer} does not exist")
    lead_source, wo_type = call.get("Lead_Source"), call.get("WO_Type")
    if lead_source and problems.ok("Lead_Source") and lead_source not in settings.get(
            "lead_sources", []):
        problems.add("I", "Lead_Source", f"Lead source {lead_source} does not exist")
    if wo_type and problems.ok("WO_Type") and wo_type not in settings.get(
            "work_order_types", []):
        problems.add("I", "WO_Type", f"Work order type {wo_type} does not exist")
    if problems.found:
        return Answer(problems.rows())
    record = {name: call.get(name) for name in call.layout.names[2:]}
    record.update(Company_Code=company, Status="A")
    state.sites[(company, site_id)] = record
    return Answer(_success(style, site_id, "Site_ID"))


_SERVICES: Final[Mapping[str, Callable[[SpectrumState, SoapCall, str], Answer]]] = {
    "WorkOrderHeader": _work_order_header,
    "GetCustomers": _get_customers,
    "AddCustomer": _add_customer,
    "AddWOSiteAddress": _add_wo_site_address,
}


def perform(state: SpectrumState, call: SoapCall, success_style: str) -> Answer:
    """Run one call against ``state`` atomically and say what Spectrum would answer."""
    with state.lock:
        return _SERVICES[call.layout.service](state, call, success_style)
