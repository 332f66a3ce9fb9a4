"""Write answers the way a ProIV Spectrum server writes them, quirks included.

Put services answer lower-case ``error_code``/``desc``/``column`` rows; get services answer
data rows under a lower-camel-case wrapper, each ending with ``Error_Code``,
``Error_Description`` and ``Error_Column``. Char columns are padded to their width and empty
values alternate between ``<X/>`` and ``<X> </X>``, as live servers do, so a client that does
not trim everything is caught here rather than in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from xml.sax.saxutils import escape

from servicetrade_spectrum.emulators.spectrum._requests import SOAP_ENV_NS, TYPES_NS

__all__ = ["Column", "Row", "get_response", "put_response", "soap_fault"]

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@dataclass(frozen=True, slots=True)
class Row:
    """One status row: ``code`` ('' for a blank success row), message, and the column."""

    code: str
    desc: str
    column: str


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a get service's data rows; ``width`` > 0 pads the value with spaces."""

    name: str
    width: int = 0


def _envelope(inner: str) -> bytes:
    return (f'{_DECLARATION}<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV_NS}">'
            f"<SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>").encode()


def _method_response(service: str, return_data: str) -> bytes:
    return _envelope(f'<nis:{service}Response xmlns:nis="{TYPES_NS}"><returnArray>'
                     f"<returnData>{return_data}</returnData></returnArray>"
                     f"</nis:{service}Response>")


class _EmptyStyle:
    """Alternates ``<X/>`` and ``<X> </X>`` for empty values, deterministically."""

    def __init__(self) -> None:
        self._turn = count()

    def element(self, name: str, value: str, width: int = 0) -> str:
        if not value:
            return f"<{name}/>" if next(self._turn) % 2 == 0 else f"<{name}> </{name}>"
        return f"<{name}>{escape(value.ljust(width))}</{name}>"


def put_response(service: str, rows: Sequence[Row]) -> bytes:
    """A put service's answer: one ``response`` per row (none for a silent success)."""
    style = _EmptyStyle()
    body = "".join(
        "<response>" + style.element("error_code", row.code) + style.element("desc", row.desc)
        + style.element("column", row.column) + "</response>"
        for row in rows)
    return _method_response(service, body)


def get_response(service: str, columns: Sequence[Column], records: Sequence[dict[str, str]],
                 rows: Sequence[Row] = ()) -> bytes:
    """A get service's answer: data rows, then status rows (A, I, W) with empty data."""
    style = _EmptyStyle()
    wrapper = service[:1].lower() + service[1:]

    def render(record: dict[str, str], status: Row | None) -> str:
        cells = "".join(style.element(c.name, record.get(c.name, ""), c.width)
                        for c in columns)
        code, desc, column = (status.code, status.desc, status.column) if status else ("", "", "")
        return (f"<response>{cells}"
                f"{_tag('Error_Code', code)}{_tag('Error_Description', desc)}"
                f"{_tag('Error_Column', column)}</response>")

    body = "".join(render(record, None) for record in records)
    body += "".join(render({}, row) for row in rows)
    return _method_response(service, f"<{wrapper}>{body}</{wrapper}>")


def _tag(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>" if value else f"<{name}/>"


def soap_fault(faultcode: str, faultstring: str) -> bytes:
    """A SOAP 1.1 fault: infrastructure trouble, never a business answer."""
    return _envelope(f"<SOAP-ENV:Fault><faultcode>{escape(faultcode)}</faultcode>"
                     f"<faultstring>{escape(faultstring)}</faultstring></SOAP-ENV:Fault>")
