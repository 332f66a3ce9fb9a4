"""XML constants and the one hardened lxml parser configuration used for every answer.

Spectrum answers are untrusted input from the network: entity resolution, DTD loading and
network access are off, and a document with a DOCTYPE is refused outright (lxml would
otherwise still read an internal subset).
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = [
    "SOAP_ENV_NS",
    "TYPES_NS",
    "NotXML",
    "UnsafeXML",
    "local_name",
    "parse_untrusted",
]

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TYPES_NS = "http://www.northgate-is.com/proiv/webservices/types"

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


class UnsafeXML(ValueError):
    """The document declares a DOCTYPE or entities, which Spectrum never sends."""


class NotXML(ValueError):
    """Even a recovering parser found no element in the document."""


def _parser(*, recover: bool) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, recover=recover,
                           remove_blank_text=False)


_STRICT = _parser(recover=False)
_RECOVERING = _parser(recover=True)


def parse_untrusted(body: bytes, *, recover: bool = False) -> etree._Element:
    """Parse ``body``; with ``recover`` accept a document whose end was cut off.

    Raises :class:`UnsafeXML` for a DOCTYPE or entity declaration, ``etree.XMLSyntaxError``
    for a malformed document and :class:`NotXML` when even recovery finds no element.
    """
    if _DOCTYPE.search(body):
        raise UnsafeXML("refusing an XML document with a DOCTYPE or entity declaration")
    root: etree._Element | None = etree.fromstring(
        body, parser=_RECOVERING if recover else _STRICT)
    if root is None:  # recover=True returns None for hopeless input
        raise NotXML("no XML element found")
    return root


def local_name(element: etree._Element) -> str:
    """The element's name without its namespace (real servers mix qualified and not)."""
    tag = element.tag
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    # A recovered (cut-off) document can leave an unresolved "prefix:name" tag.
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
