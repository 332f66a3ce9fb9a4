"""The rules of a send, as pure functions and value objects (no I/O)."""

from servicetrade_spectrum.domain.failures import Failure, FailureKind, SpectrumRow
from servicetrade_spectrum.domain.preview import FieldChange, ResendEffects, resend_effects
from servicetrade_spectrum.domain.work_order import (
    MANAGED_FIELDS,
    SUMMARY_LIMIT,
    ConnectionRules,
    JobFacts,
    RecordRef,
    WorkOrderDraft,
    build_work_order,
    explain_rejection,
    mapping_failures,
)

__all__ = [
    "MANAGED_FIELDS",
    "SUMMARY_LIMIT",
    "ConnectionRules",
    "Failure",
    "FailureKind",
    "FieldChange",
    "JobFacts",
    "RecordRef",
    "ResendEffects",
    "SpectrumRow",
    "WorkOrderDraft",
    "build_work_order",
    "explain_rejection",
    "mapping_failures",
    "resend_effects",
]
