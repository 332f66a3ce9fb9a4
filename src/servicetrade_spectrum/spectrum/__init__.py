"""Spectrum Data Exchange (SOAP) client.

Layers, each in its own module: layouts as data (``_layouts``), envelope building
(``_envelope``), answer parsing (``_parsing``), classification into outcomes (``_classify``,
``_outcomes``), enhanced authentication (``_auth``), per-server limits (``_limits``) and the
client that ties them together (``_client``).
"""

from servicetrade_spectrum.spectrum._auth import ClientCredentials, RotatedSecret
from servicetrade_spectrum.spectrum._client import ConnectionCheck, SpectrumClient
from servicetrade_spectrum.spectrum._envelope import build_envelope, clean_text
from servicetrade_spectrum.spectrum._exceptions import InvalidRequest, SpectrumError
from servicetrade_spectrum.spectrum._layouts import (
    ADD_CUSTOMER,
    ADD_WO_SITE_ADDRESS,
    GET_CUSTOMERS,
    LAYOUTS,
    WORK_ORDER_HEADER,
    Element,
    Layout,
    Problem,
    Violation,
)
from servicetrade_spectrum.spectrum._limits import Gate, server_key, server_slot
from servicetrade_spectrum.spectrum._outcomes import (
    AuthenticationFailed,
    Exchange,
    NotAuthorized,
    Outcome,
    Rejected,
    Row,
    Succeeded,
    Transient,
)
from servicetrade_spectrum.spectrum._parsing import ParsedAnswer, UnreadableAnswer, parse_answer

__all__ = [
    "ADD_CUSTOMER",
    "ADD_WO_SITE_ADDRESS",
    "GET_CUSTOMERS",
    "LAYOUTS",
    "WORK_ORDER_HEADER",
    "AuthenticationFailed",
    "ClientCredentials",
    "ConnectionCheck",
    "Element",
    "Exchange",
    "Gate",
    "InvalidRequest",
    "Layout",
    "NotAuthorized",
    "Outcome",
    "ParsedAnswer",
    "Problem",
    "Rejected",
    "RotatedSecret",
    "Row",
    "SpectrumClient",
    "SpectrumError",
    "Succeeded",
    "Transient",
    "UnreadableAnswer",
    "Violation",
    "build_envelope",
    "clean_text",
    "parse_answer",
    "server_key",
    "server_slot",
]
