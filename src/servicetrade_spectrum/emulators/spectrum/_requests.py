"""Read an incoming SOAP request as strictly as a ProIV server does.

ProIV binds the body to the service's declared layout: every element must be there, in the
declared order, and nothing else may be. Anything else is a ``SOAP-ENV:Client`` fault, not an
error row, which is why a client must always send the whole layout. The XML parser is
hardened (no DTD, no entities, no network) and a DOCTYPE is refused outright: the emulator
faces whatever a test throws at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from servicetrade_spectrum.spectrum._layouts import LAYOUTS, Layout

__all__ = ["SOAP_ENV_NS", "TYPES_NS", "RequestFault", "SoapCall", "find_layout", "parse_call",
           "sniff_value"]

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TYPES_NS = "http://www.northgate-is.com/proiv/webservices/types"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class RequestFault(Exception):
    """The request cannot be bound to the service: answered with a SOAP fault."""

    def __init__(self, faultcode: str, faultstring: str) -> None:
        super().__init__(faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring


@dataclass(frozen=True, slots=True)
class SoapCall:
    """A request bound to its layout: every element's text, in layout order, untrimmed."""

    layout: Layout
    values: dict[str, str]

    def get(self, name: str) -> str:
        """The trimmed value: the server ignores surrounding whitespace."""
        return self.values.get(name, "").strip()


def _client(message: str) -> RequestFault:
    return RequestFault("SOAP-ENV:Client", message)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True)


def find_layout(service: str) -> Layout:
    layout = LAYOUTS.get(service)
    if layout is None:
        raise _client(f"Could not find WebService named: {service}")
    return layout


def _local(element: etree._Element, allowed_ns: tuple[str | None, ...]) -> str | None:
    """The element's local name when its namespace is one of ``allowed_ns``, else None."""
    qname = etree.QName(element)
    return qname.localname if qname.namespace in allowed_ns else None


def parse_call(service: str, body: bytes) -> SoapCall:
    """Bind ``body`` to ``service``'s layout or raise :class:`RequestFault`."""
    layout = find_layout(service)
    if _DOCTYPE.search(body):
        raise _client("Malformed request: DOCTYPE is not allowed")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise _client(f"Malformed request: {exc}") from exc
    if getattr(root.getroottree().docinfo, "doctype", ""):  # belt and braces; not in stubs
        raise _client("Malformed request: DOCTYPE is not allowed")
    if _local(root, (SOAP_ENV_NS,)) != "Envelope":
        raise _client("Malformed request: the root element is not a SOAP 1.1 Envelope")
    bodies = [child for child in root if _local(child, (SOAP_ENV_NS,)) == "Body"]
    if len(bodies) != 1:
        raise _client("Malformed request: the Envelope has no Body")
    methods = [child for child in bodies[0] if isinstance(child.tag, str)]
    if not methods or _local(methods[0], (TYPES_NS,)) != service:
        raise _client(f"Could not find WebService named: {service}: the Body must hold "
                      f"the method element {{{TYPES_NS}}}{service}")
    return SoapCall(layout, _bind(layout, methods[0]))


def _bind(layout: Layout, method: etree._Element) -> dict[str, str]:
    expected = layout.names
    children = [child for child in method if isinstance(child.tag, str)]
    names: list[str] = []
    for child in children:
        name = _local(child, (None, TYPES_NS))
        if name is None or name not in expected:
            raise _client(f"Element {etree.QName(child).localname} is not declared in "
                          f"{layout.service}")
        if len(child):
            raise _client(f"Element {name} of {layout.service} must be a string")
        names.append(name)
    values: dict[str, str] = {}
    position = 0
    for name, child in zip(names, children, strict=True):
        index = expected.index(name)
        if index < position:
            raise _client(f"Element {name} of {layout.service} is out of order or repeated")
        if index > position:
            skipped = expected[position]
            problem = "is out of order" if skipped in names else "is missing"
            raise _client(f"Element {skipped} of {layout.service} {problem}")
        values[name] = child.text or ""
        position += 1
    if position < len(expected):
        raise _client(f"Element {expected[position]} of {layout.service} is missing")
    return values


def sniff_value(body: bytes, name: str) -> str:
    """Best-effort value of a simple element, for recording a request that did not parse."""
    match = re.search(rb"<(?:\w+:)?" + re.escape(name.encode()) + rb"(?:\s[^>]*)?>([^<]*)<",
                      body)
    return match.group(1).decode("utf-8", "replace").strip() if match else ""
