"""ServiceTrade records -> the domain's :class:`JobFacts` for one connection's system."""

from __future__ import annotations

from servicetrade_spectrum.domain import JobFacts, RecordRef
from servicetrade_spectrum.servicetrade import JobContext

__all__ = ["job_facts"]


def job_facts(context: JobContext, system: str) -> JobFacts:
    job = context.job
    company, location, contract = context.company, context.location, context.contract
    company_ref = RecordRef("company", company.id if company else 0,
                            company.name if company else (job.customer.name
                                                          if job.customer else ""))
    location_ref = RecordRef("location", location.id if location else 0,
                             location.name if location else (job.location.name
                                                             if job.location else ""))
    contract_ref = (RecordRef("contract", contract.id, contract.name)
                    if contract is not None else None)
    return JobFacts(
        job_id=job.id, job_number=str(job.number), description=job.description or "",
        customer_po=job.customer_po or "", company=company_ref,
        customer_code=(company.external_ids.get(system) if company else None) or None,
        location=location_ref,
        site_id=(location.external_ids.get(system) if location else None) or None,
        contract=contract_ref,
        contract_number=(contract.external_ids.get(system) if contract else None) or None)
