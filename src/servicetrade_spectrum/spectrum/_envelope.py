"""Building the SOAP request envelope for one SDX call.

The method element is the body's root, in Spectrum's types namespace; every element of the
service's layout is present, in layout order, empty when unused (ProIV faults on a missing
declared element). lxml escapes ``& < > " '``; characters XML 1.0 cannot carry at all are
removed first by :func:`clean_text`, so any text either arrives intact or loses only those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from servicetrade_spectrum.spectrum._layouts import Layout
from servicetrade_spectrum.spectrum._xml import SOAP_ENV_NS, TYPES_NS

__all__ = ["build_envelope", "clean_text"]

# XML 1.0 Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (control characters, lone
    surrogates, U+FFFE/U+FFFF)."""
    return _NOT_XML_CHAR.sub("", value)


def build_envelope(layout: Layout, values: Mapping[str, str]) -> bytes:
    """The request body for ``layout`` with ``values`` (element name -> text).

    ``values`` must already be cleaned and validated; elements not named are sent empty.
    """
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soapenv": SOAP_ENV_NS})
    etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body")
    # A None key declares the default namespace; lxml-stubs do not know that.
    method = etree.SubElement(body, f"{{{TYPES_NS}}}{layout.service}",
                              nsmap={None: TYPES_NS})  # type: ignore[dict-item]
    for name in layout.names:
        child = etree.SubElement(method, f"{{{TYPES_NS}}}{name}")
        child.text = values.get(name, "")
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))
