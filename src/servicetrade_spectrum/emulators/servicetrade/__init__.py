"""An emulator of ServiceTrade's REST API over real HTTP, for tests and demos.

``ServiceTradeEmulator().app`` is an ASGI app serving ``/api`` (auth, jobs, companies,
locations, contracts, external IDs, comments, webhooks) with ServiceTrade's envelope and error
shapes, fault injection and ``/_emulator`` controls; ``run_servicetrade_emulator`` serves it
for ``st-spectrum emulate servicetrade``.
"""

from servicetrade_spectrum.emulators.servicetrade._app import RecordedRequest
from servicetrade_spectrum.emulators.servicetrade._delivery import WebhookDelivery
from servicetrade_spectrum.emulators.servicetrade._emulator import (
    ServiceTradeEmulator,
    run_servicetrade_emulator,
)
from servicetrade_spectrum.emulators.servicetrade._faults import FAULT_KINDS, Fault
from servicetrade_spectrum.emulators.servicetrade._state import ApiError, JobChange, Session

__all__ = [
    "FAULT_KINDS",
    "ApiError",
    "Fault",
    "JobChange",
    "RecordedRequest",
    "ServiceTradeEmulator",
    "Session",
    "WebhookDelivery",
    "run_servicetrade_emulator",
]
