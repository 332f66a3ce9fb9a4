"""``GET /wsdls/{Service}.jws``: the WSDL a Spectrum server publishes for each service.

Admins download these to learn a service's layout; a client may fetch one to see that the
server answers. As on a live server, a WSDL is served whether or not the Authorization ID
is allowed to call the service.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from servicetrade_spectrum.emulators.spectrum._requests import TYPES_NS
from servicetrade_spectrum.spectrum._layouts import Layout

__all__ = ["wsdl"]


def wsdl(layout: Layout, endpoint: str) -> bytes:
    """The document/literal WSDL of ``layout``, its port at ``endpoint``."""
    name = layout.service
    elements = "".join(
        f'<xsd:element name="{e.name}" type="xsd:string" minOccurs="1" maxOccurs="1"/>'
        for e in layout.elements)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:nis="{TYPES_NS}" targetNamespace="{TYPES_NS}">'
        f'<wsdl:types><xsd:schema targetNamespace="{TYPES_NS}" '
        'elementFormDefault="unqualified">'
        f'<xsd:element name="{name}"><xsd:complexType><xsd:sequence>{elements}'
        "</xsd:sequence></xsd:complexType></xsd:element>"
        f'<xsd:element name="{name}Response"><xsd:complexType><xsd:sequence>'
        '<xsd:element name="returnArray" type="xsd:anyType"/>'
        "</xsd:sequence></xsd:complexType></xsd:element></xsd:schema></wsdl:types>"
        f'<wsdl:message name="{name}Request"><wsdl:part name="parameters" '
        f'element="nis:{name}"/></wsdl:message>'
        f'<wsdl:message name="{name}Response"><wsdl:part name="parameters" '
        f'element="nis:{name}Response"/></wsdl:message>'
        f'<wsdl:portType name="{name}PortType"><wsdl:operation name="{name}">'
        f'<wsdl:input message="nis:{name}Request"/>'
        f'<wsdl:output message="nis:{name}Response"/></wsdl:operation></wsdl:portType>'
        f'<wsdl:binding name="{name}Binding" type="nis:{name}PortType">'
        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f'<wsdl:operation name="{name}"><soap:operation soapAction={quoteattr(endpoint)}/>'
        '<wsdl:input><soap:body use="literal"/></wsdl:input>'
        '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        "</wsdl:binding>"
        f'<wsdl:service name="{name}"><wsdl:port name="{name}Port" '
        f'binding="nis:{name}Binding"><soap:address location={quoteattr(endpoint)}/>'
        "</wsdl:port></wsdl:service></wsdl:definitions>"
    ).encode()
