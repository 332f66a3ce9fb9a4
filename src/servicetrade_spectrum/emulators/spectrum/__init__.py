"""An emulator of Trimble Spectrum's Data Exchange (SDX) SOAP web services, over real HTTP.

It speaks the wire protocol of ``shared/reference/spectrum-data-exchange.md`` as live ProIV
servers do — strict layouts, error rows, padded get rows, SOAP faults, enhanced
authentication — so the Spectrum client is tested against the protocol, not against itself.
It deliberately shares nothing with the client but the layout table (the spec).

Typical use::

    emu = SpectrumEmulator.from_seed()
    with BackgroundServer(emu.app) as server:
        ...  # POST f"{server.url}/ws/WorkOrderHeader"
        emu.work_order("1", "T10001")
"""

from __future__ import annotations

from servicetrade_spectrum.emulators.spectrum._emulator import (
    EmulatorSettings,
    RecordedRequest,
    SpectrumEmulator,
)
from servicetrade_spectrum.emulators.spectrum._faults import Fault, FaultKind
from servicetrade_spectrum.emulators.spectrum._serve import run_spectrum_emulator
from servicetrade_spectrum.emulators.spectrum._services import (
    MAX_RECORDS,
    NOT_AUTHORIZED,
    SUCCESS_STYLES,
    TIME_OUT,
    TOO_MANY_RECORDS,
)

__all__ = [
    "MAX_RECORDS",
    "NOT_AUTHORIZED",
    "SUCCESS_STYLES",
    "TIME_OUT",
    "TOO_MANY_RECORDS",
    "EmulatorSettings",
    "Fault",
    "FaultKind",
    "RecordedRequest",
    "SpectrumEmulator",
    "run_spectrum_emulator",
]
