"""Spectrum service layouts as data: each input element, its maximum length, whether required.

A layout is the contract of one SDX service. Real servers fault when a declared element is
missing, so the envelope always carries every element, in this order, empty when unused.
Values are validated against the layout before anything is sent: an over-long value is
refused here rather than cut (or misread) by the server.

Sources: Trimble's Data Exchange layouts for each service, in their documented order (see
``shared/reference/spectrum-data-exchange.md``). Where a live server's WSDL differs, the WSDL
wins: change the table here and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ADD_CUSTOMER",
    "ADD_WO_SITE_ADDRESS",
    "GET_CUSTOMERS",
    "LAYOUTS",
    "WORK_ORDER_HEADER",
    "Element",
    "Layout",
    "Problem",
    "Violation",
]


@dataclass(frozen=True, slots=True)
class Element:
    name: str
    max_length: int
    required: bool = False


class Problem(StrEnum):
    UNKNOWN_ELEMENT = "unknown_element"
    TOO_LONG = "too_long"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Violation:
    """One value that does not fit the layout, found before sending."""

    element: str
    problem: Problem
    length: int = 0
    max_length: int = 0

    def describe(self) -> str:
        if self.problem is Problem.TOO_LONG:
            return (f"{self.element} is {self.length} characters; Spectrum accepts at most "
                    f"{self.max_length}")
        if self.problem is Problem.MISSING:
            return f"{self.element} is required and is blank"
        return f"{self.element} is not an element of this Spectrum service"


@dataclass(frozen=True, slots=True)
class Layout:
    """The inputs of one service, in the order the server declares them."""

    service: str
    """The method element and the endpoint name: ``POST {ws_url}/{service}``."""
    elements: tuple[Element, ...]
    kind: str = "put"
    """``put`` services answer error rows; ``get`` services answer data rows."""
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The elements' names, in order (kept: every call of the service reads them)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(e.name for e in self.elements))

    def element(self, name: str) -> Element:
        for element in self.elements:
            if element.name == name:
                return element
        raise KeyError(f"{name} is not an element of {self.service}")

    def max_length(self, name: str) -> int:
        return self.element(name).max_length

    def validate(self, values: Mapping[str, str]) -> list[Violation]:
        """Every violation in ``values`` (already cleaned), in layout order, unknowns last.

        Lengths count characters, after the caller has removed what XML cannot carry.
        """
        violations: list[Violation] = []
        for element in self.elements:
            value = values.get(element.name, "")
            if element.required and not value.strip():
                violations.append(Violation(element.name, Problem.MISSING))
            elif len(value) > element.max_length:
                violations.append(Violation(element.name, Problem.TOO_LONG, len(value),
                                            element.max_length))
        known = set(self.names)
        violations.extend(Violation(name, Problem.UNKNOWN_ELEMENT)
                          for name in values if name not in known)
        return violations


def _layout(service: str, rows: list[tuple[str, int] | tuple[str, int, bool]],
            kind: str = "put") -> Layout:
    elements = tuple(Element(row[0], row[1], bool(row[2]) if len(row) > 2 else False)
                     for row in rows)
    return Layout(service, elements, kind)


_AUTH: list[tuple[str, int] | tuple[str, int, bool]] = [
    ("Authorization_ID", 20, True), ("GUID", 36)]

WORK_ORDER_HEADER = _layout("WorkOrderHeader", [
    *_AUTH,
    ("Company_Code", 3),
    ("WO_Number", 10),
    ("WO_Reference_Code", 1, True),
    ("WO_Job_Number", 10, True),
    ("WO_Job_Division", 5),
    ("Bill_Customer_Code", 10),  # required on create only: the server decides
    ("Contract_Number", 10),
    ("Customer_PO_Number", 25),
    ("Customer_Job", 10),
    ("WO_Phone1", 14),
    ("WO_Phone2", 14),
    ("Bill_Contract", 20),
    ("Zone", 3),
    ("Priority_Code", 2),
    ("WO_Case_Type", 10),
    ("Price_Type", 1),
    ("Total_Quote_Amount", 10),
    ("Projected_Hours", 8),
    ("Est_Arrival", 15),
    ("Dispatch_Status_Code", 1),
    ("Summary_Description", 250),
    ("Ordered_Date", 10),
    ("Time_Entered", 6),
    ("Requested_Date", 10),
    ("Estimated_Complete_Time", 6),
    ("Scheduled_Start_Date", 10),
    ("Scheduled_Start_Time", 6),
    ("Date_Assigned", 10),
    ("Time_Assigned", 6),
    ("Arrival_Date", 10),
    ("Arrival_Time", 6),
    ("Complete_Date", 10),
    ("Complete_Time", 8),
    ("Lead_Source", 15),
    ("Sales_Person", 3),
    ("Taken_By", 3),
    ("AR_Terms_Code", 1),
    ("Sales_Tax_Code", 15),
    ("Taxable_Flag", 1),
    ("GL_Department", 5),
    ("Cost_Center", 10),
    ("Billto_Code", 4),
    ("Override_ERO_Markup", 6),
    ("Material_Price_Level", 1),
    ("Price_Level", 1),
    ("Markup_Code", 10),
])

GET_CUSTOMERS = _layout("GetCustomers", [
    *_AUTH,
    ("pCompany_Code", 3),
    ("pStatus", 3),
], kind="get")

ADD_CUSTOMER = _layout("AddCustomer", [
    *_AUTH,
    ("Company_Code", 3),
    ("Customer_Code", 10, True),
    ("Name", 30, True),
    ("Address_1", 30),
    ("Address_2", 30),
    ("Address_3", 30),
    ("City", 25),
    ("State", 2),
    ("Zip_Code", 10),
    ("Phone", 14),
    ("Fax", 14),
    ("Contact_1", 30),
    ("Contact_2", 30),
    ("Terms_Code", 1, True),
    ("Sales_Tax_Code", 15, True),
])

ADD_WO_SITE_ADDRESS = _layout("AddWOSiteAddress", [
    *_AUTH,
    ("Company_Code", 3, True),
    ("Site_ID", 10, True),
    ("Site_Name", 30, True),
    ("Site_Address1", 30),
    ("Site_Address2", 30),
    ("Site_City", 25),
    ("Site_State", 2),
    ("Site_Zip_Code", 10),
    ("Site_Phone1", 14),
    ("Site_Customer_Code", 10),
    ("Lead_Source", 15),
    ("WO_Type", 5),
    ("Work_Site_Email", 80),
    ("Latitude", 12),
    ("Longitude", 12),
])

LAYOUTS: Mapping[str, Layout] = {
    layout.service: layout
    for layout in (WORK_ORDER_HEADER, GET_CUSTOMERS, ADD_CUSTOMER, ADD_WO_SITE_ADDRESS)
}
