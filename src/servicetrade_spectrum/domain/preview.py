"""What a send would do, compared with the last successful send. Nothing is sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from servicetrade_spectrum.domain.work_order import MANAGED_FIELDS, WorkOrderDraft

__all__ = ["FieldChange", "ResendEffects", "resend_effects"]

_LABELS = {
    "Bill_Customer_Code": "customer", "WO_Job_Number": "site", "Contract_Number": "contract",
    "Summary_Description": "summary", "Customer_PO_Number": "customer PO",
    "WO_Job_Division": "work order type", "Lead_Source": "lead source",
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    element: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class ResendEffects:
    is_resend: bool
    changes: tuple[FieldChange, ...]
    """Managed fields whose ServiceTrade value changed since the last successful send."""
    overwritten: tuple[str, ...]
    """Spectrum fields this send writes again: any manual change there is lost."""
    kept: tuple[str, ...]
    """Fields blank on the job now but set before: Spectrum keeps its old value."""
    warnings: tuple[str, ...]


def resend_effects(draft: WorkOrderDraft, last_sent: Mapping[str, str] | None) -> ResendEffects:
    if last_sent is None:
        return ResendEffects(False, (), (), (), ())
    changes = tuple(FieldChange(e, last_sent.get(e, ""), draft.source_fields.get(e, ""))
                    for e in MANAGED_FIELDS
                    if last_sent.get(e, "") != draft.source_fields.get(e, ""))
    overwritten = tuple(e for e in MANAGED_FIELDS if draft.fields.get(e))
    kept = tuple(e for e in MANAGED_FIELDS
                 if not draft.source_fields.get(e) and last_sent.get(e))
    warnings = [f"Re-sending overwrites these Spectrum fields with the job's data: "
                f"{', '.join(_LABELS[e] for e in overwritten)}."] if overwritten else []
    warnings += [f"The {_LABELS[e]} is now blank in ServiceTrade, but Spectrum cannot clear a "
                 f"field: it will keep '{last_sent[e]}' in {e}." for e in kept]
    return ResendEffects(True, changes, overwritten, kept, tuple(warnings))
