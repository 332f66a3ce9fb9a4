"""Job + mappings + connection settings -> the WorkOrderHeader fields of one send.

Pure rules, no I/O. The send use case gathers :class:`JobFacts` from ServiceTrade, calls
:func:`build_work_order`, and either sends the draft or reports the failure. Everything a
user may have to fix is found here, before Spectrum is called, and all of it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from servicetrade_spectrum.domain.failures import Failure, FailureKind, SpectrumRow
from servicetrade_spectrum.spectrum import WORK_ORDER_HEADER, clean_text

__all__ = [
    "MANAGED_FIELDS",
    "SUMMARY_LIMIT",
    "ConnectionRules",
    "JobFacts",
    "RecordRef",
    "WorkOrderDraft",
    "build_work_order",
    "explain_rejection",
    "mapping_failures",
]

SUMMARY_LIMIT = WORK_ORDER_HEADER.max_length("Summary_Description")
WO_NUMBER_LIMIT = WORK_ORDER_HEADER.max_length("WO_Number")

MANAGED_FIELDS = ("Bill_Customer_Code", "WO_Job_Number", "Contract_Number",
                  "Summary_Description", "Customer_PO_Number", "WO_Job_Division", "Lead_Source")
"""Fields a send owns: sent again on every re-send (unless "preserve Spectrum edits")."""

_ALWAYS_SENT = ("WO_Reference_Code", "WO_Job_Number")
"""Required by Spectrum, so sent even when unchanged under "preserve Spectrum edits"."""

SITE_WORK_ORDER = "S"


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A ServiceTrade record, as named in messages."""

    entity: str  # company, location, contract, job
    id: int
    name: str

    def label(self) -> str:
        return f"{self.entity} '{self.name}'" if self.name else f"{self.entity} {self.id}"


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What a send needs to know about one job, read from ServiceTrade."""

    job_id: int
    job_number: str
    description: str
    customer_po: str
    company: RecordRef
    customer_code: str | None
    location: RecordRef
    site_id: str | None
    contract: RecordRef | None = None
    contract_number: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionRules:
    """The settings of one Spectrum connection that shape a work order."""

    name: str
    company_code: str
    system: str = "spectrum"
    prefix: str = ""
    work_order_type: str = ""
    lead_source: str = ""
    preserve_edits: bool = False


@dataclass(frozen=True, slots=True)
class WorkOrderDraft:
    number: str
    fields: dict[str, str]
    """What will be sent, by Spectrum element (blank = leave Spectrum's value alone)."""
    source_fields: dict[str, str]
    """The managed fields' values from ServiceTrade, before "preserve Spectrum edits"."""
    warnings: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    """Element -> the ServiceTrade value that feeds it, in words."""


def _sources(facts: JobFacts, rules: ConnectionRules) -> dict[str, str]:
    system = rules.system
    job = f"job {facts.job_number}"
    sources = {
        "WO_Number": f"the leading character of connection '{rules.name}' + the number of {job}",
        "Bill_Customer_Code": f"the '{system}' external ID of {facts.company.label()}",
        "WO_Job_Number": f"the '{system}' external ID of {facts.location.label()}",
        "Summary_Description": f"the description of {job}",
        "Customer_PO_Number": f"the customer PO of {job}",
        "WO_Job_Division": f"the work order type of connection '{rules.name}'",
        "Lead_Source": f"the lead source of connection '{rules.name}'",
        "Company_Code": f"the company code of connection '{rules.name}'",
    }
    if facts.contract is not None:
        sources["Contract_Number"] = f"the '{system}' external ID of {facts.contract.label()}"
    return sources


def _fix_for(element: str, facts: JobFacts, rules: ConnectionRules, limit: int) -> str:
    system = rules.system
    fixes = {
        "Bill_Customer_Code": f"correct the '{system}' external ID of {facts.company.label()} "
                              "in ServiceTrade",
        "WO_Job_Number": f"correct the '{system}' external ID of {facts.location.label()} "
                         "in ServiceTrade",
        "Contract_Number": (f"correct the '{system}' external ID of {facts.contract.label()} "
                            "in ServiceTrade" if facts.contract else ""),
        "Customer_PO_Number": f"shorten the customer PO on job {facts.job_number} to {limit} "
                              "characters or fewer",
        "WO_Job_Division": f"change the work order type of connection '{rules.name}'",
        "Lead_Source": f"change the lead source of connection '{rules.name}'",
        "Company_Code": f"change the company code of connection '{rules.name}'",
    }
    return fixes.get(element) or f"correct the value that feeds {element}"


def _sentence(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower-case names)."""
    return text[:1].upper() + text[1:]


def _mapping_failures(facts: JobFacts, rules: ConnectionRules) -> list[Failure]:
    failures = []
    system = rules.system
    if not facts.customer_code:
        failures.append(Failure(
            FailureKind.CUSTOMER_NOT_MAPPED,
            f"Company '{facts.company.name}' has no Spectrum customer for system '{system}'.",
            f"Find the customer code in Spectrum, open company '{facts.company.name}' in "
            f"ServiceTrade and add the customer code as its external ID for '{system}'."))
    if not facts.site_id:
        failures.append(Failure(
            FailureKind.SITE_NOT_MAPPED,
            f"Location '{facts.location.name}' has no Spectrum site ID for system '{system}'.",
            f"Find the site ID in Spectrum, open location '{facts.location.name}' in "
            f"ServiceTrade and add the site ID as its external ID for '{system}'."))
    return failures


def mapping_failures(facts: JobFacts, rules: ConnectionRules) -> list[Failure]:
    """Each missing mapping on its own, with its fix: the job page shows them beside the
    mapping they concern, in the words a failed send uses."""
    return _mapping_failures(facts, rules)


def _combine(failures: list[Failure]) -> Failure:
    """The first failure's kind, with every problem's message and fix, so one round of fixes
    is enough."""
    if len(failures) == 1:
        return failures[0]
    return Failure(failures[0].kind, " ".join(f.message for f in failures),
                   " ".join(f.fix for f in failures))


def build_work_order(facts: JobFacts, rules: ConnectionRules,
                     last_sent: Mapping[str, str] | None = None) -> WorkOrderDraft | Failure:
    """The draft to send, or the failure that stops the send before Spectrum is called.

    ``last_sent`` is the ``source_fields`` of the last successful send; it matters only with
    "preserve Spectrum edits", where unchanged managed fields are sent blank.
    """
    failures = _mapping_failures(facts, rules)
    number = f"{rules.prefix}{facts.job_number}"
    if len(number) > WO_NUMBER_LIMIT:
        failures.append(Failure(
            FailureKind.WORK_ORDER_NUMBER_TOO_LONG,
            f"Work order number '{number}' (leading character '{rules.prefix}' + job number "
            f"{facts.job_number}) is {len(number)} characters; Spectrum accepts at most "
            f"{WO_NUMBER_LIMIT}.",
            f"Use a shorter leading character, or none, on connection '{rules.name}'."))

    warnings: list[str] = []
    summary = clean_text(facts.description).strip()
    if len(summary) > SUMMARY_LIMIT:
        warnings.append(f"The description of job {facts.job_number} is {len(summary)} "
                        f"characters; Spectrum keeps the first {SUMMARY_LIMIT}.")
        summary = summary[:SUMMARY_LIMIT].rstrip()
    contract_number = (facts.contract_number or "") if facts.contract is not None else ""
    source_fields = {
        "Bill_Customer_Code": facts.customer_code or "",
        "WO_Job_Number": facts.site_id or "",
        "Contract_Number": contract_number,
        "Summary_Description": summary,
        "Customer_PO_Number": facts.customer_po,
        "WO_Job_Division": rules.work_order_type,
        "Lead_Source": rules.lead_source,
    }
    source_fields = {name: clean_text(value).strip() for name, value in source_fields.items()}
    sources = _sources(facts, rules)
    for element, value in [*source_fields.items(), ("Company_Code", rules.company_code)]:
        limit = WORK_ORDER_HEADER.max_length(element)
        if len(value) > limit:
            failures.append(Failure(
                FailureKind.VALUE_TOO_LONG,
                f"{_sentence(sources[element])} ('{value}') is {len(value)} characters; "
                f"Spectrum's {element} accepts at most {limit}.",
                f"{_sentence(_fix_for(element, facts, rules, limit))}, then send again."))
    if failures:
        return _combine(failures)

    fields = {"Company_Code": rules.company_code, "WO_Number": number,
              "WO_Reference_Code": SITE_WORK_ORDER}
    for element, value in source_fields.items():
        unchanged = (rules.preserve_edits and last_sent is not None
                     and last_sent.get(element, "") == value)
        fields[element] = "" if unchanged and element not in _ALWAYS_SENT else value
    return WorkOrderDraft(number=number, fields=fields, source_fields=source_fields,
                          warnings=tuple(warnings), sources=sources)


def explain_rejection(rows: tuple[SpectrumRow, ...], draft: WorkOrderDraft,
                      facts: JobFacts, rules: ConnectionRules) -> Failure:
    """A ``rejected_by_spectrum`` failure quoting Spectrum's rows and naming, for each
    column, the ServiceTrade value that fed it."""
    quoted = []
    fixes = []
    for row in rows:
        where = f" (column {row.column})" if row.column else ""
        line = f"Spectrum said: \"{row.message or row.code}\"{where}."
        source = draft.sources.get(row.column)
        if source:
            value = draft.fields.get(row.column, "")
            line += f" That value ('{value}') comes from {source}."
            fixes.append(_fix_for(row.column, facts, rules,
                                  WORK_ORDER_HEADER.max_length(row.column)))
        quoted.append(line)
    fix = "; ".join(dict.fromkeys(fixes)) or "correct the value Spectrum names"
    return Failure(FailureKind.REJECTED_BY_SPECTRUM, " ".join(quoted),
                   f"{_sentence(fix)}, then send again.", spectrum_rows=rows)
