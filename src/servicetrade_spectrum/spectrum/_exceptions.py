"""Exceptions raised by the Spectrum client (outcomes of calls are values, not exceptions)::

    SpectrumError
     └── InvalidRequest   values that do not fit the service's layout; nothing was sent

A call that reached (or tried to reach) Spectrum never raises: it returns an outcome from
:mod:`._outcomes`, so the caller can record exactly what happened.
"""

from __future__ import annotations

from servicetrade_spectrum.spectrum._layouts import Violation

__all__ = ["InvalidRequest", "SpectrumError"]


class SpectrumError(Exception):
    """Base class of the Spectrum client's exceptions."""


class InvalidRequest(SpectrumError):
    def __init__(self, service: str, violations: list[Violation]) -> None:
        self.service = service
        self.violations = violations
        details = "; ".join(v.describe() for v in violations)
        super().__init__(f"{service} request not sent: {details}")
