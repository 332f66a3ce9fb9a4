"""Reading a Spectrum answer: rows, faults and the quirks of live servers.

Tolerance is deliberate, because live servers demand it:

* every ``response`` row is read, wherever it sits under ``returnData`` (put services put rows
  directly there, get services under ``get{Method}``);
* column names come in lower case on put services (``error_code``, ``desc``, ``column``) and
  in upper case on get services (``Error_Code``, ``Error_Description``, ``Error_Column``);
* values are trimmed (char columns are padded; empties come as ``<X/>`` or ``<X> </X>``);
* an answer whose closing tags were cut off is read as far as it goes, complete rows only;
* a SOAP fault may come with HTTP 500 or 200.

A DOCTYPE or entity declaration is refused (see :mod:`._xml`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from servicetrade_spectrum.spectrum._outcomes import Row
from servicetrade_spectrum.spectrum._xml import NotXML, UnsafeXML, local_name, parse_untrusted

__all__ = ["Fault", "ParsedAnswer", "UnreadableAnswer", "parse_answer"]

_CODE = ("error_code", "Error_Code")
_MESSAGE = ("desc", "Error_Description")
_COLUMN = ("column", "Error_Column")
_STATUS_NAMES = frozenset(_CODE + _MESSAGE + _COLUMN)


class UnreadableAnswer(ValueError):
    """The answer is not a Data Exchange response at all (HTML error page, empty body...)."""


@dataclass(frozen=True, slots=True)
class Fault:
    code: str
    """``faultcode`` as sent, e.g. ``SOAP-ENV:Client``."""
    message: str

    @property
    def is_server(self) -> bool:
        return self.code.rsplit(":", 1)[-1].lower() == "server"


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    rows: tuple[Row, ...]
    fault: Fault | None = None
    truncated: bool = False


def parse_answer(body: bytes) -> ParsedAnswer:
    """Parse one SOAP answer into rows or a fault.

    Raises :class:`UnreadableAnswer` when the body is not a SOAP answer we can read.
    """
    if not body.strip():
        raise UnreadableAnswer("Spectrum sent an empty answer")
    truncated = False
    try:
        root = parse_untrusted(body)
    except UnsafeXML as exc:
        raise UnreadableAnswer(str(exc)) from exc
    except etree.XMLSyntaxError:
        try:
            root = parse_untrusted(body, recover=True)
        except (etree.XMLSyntaxError, NotXML) as exc:
            raise UnreadableAnswer(f"Spectrum's answer is not XML: {exc}") from exc
        truncated = True
    if local_name(root) != "Envelope":
        raise UnreadableAnswer(
            f"Spectrum's answer is not a SOAP envelope (root <{local_name(root)}>)")
    fault = _find_fault(root)
    if fault is not None:
        return ParsedAnswer(rows=(), fault=fault, truncated=truncated)
    if not any(local_name(el) == "returnData" or local_name(el) == "returnArray"
               for el in root.iter()) and not truncated:
        raise UnreadableAnswer("Spectrum's answer has no returnData element")
    rows = tuple(_read_row(el) for el in root.iter() if local_name(el) == "response"
                 and _is_complete(el, truncated))
    return ParsedAnswer(rows=rows, truncated=truncated)


def _find_fault(root: etree._Element) -> Fault | None:
    for element in root.iter():
        if local_name(element) == "Fault":
            code = message = ""
            for child in element:
                name = local_name(child)
                if name == "faultcode":
                    code = (child.text or "").strip()
                elif name == "faultstring":
                    message = (child.text or "").strip()
            return Fault(code=code, message=message)
    return None


def _is_complete(row: etree._Element, truncated: bool) -> bool:
    """In a cut-off answer, a row counts only if its status columns arrived (they come last
    on get rows and together on put rows), so half a record is never taken for a whole one."""
    if not truncated:
        return True
    names = {local_name(child) for child in row}
    return bool(names & set(_CODE)) and bool(names & set(_COLUMN))


def _read_row(row: etree._Element) -> Row:
    fields: dict[str, str] = {}
    for child in row:
        name = local_name(child)
        if name:
            fields[name] = (child.text or "").strip()
    code = _first(fields, _CODE).upper()
    values = {k: v for k, v in fields.items() if k not in _STATUS_NAMES}
    return Row(code=code, message=_first(fields, _MESSAGE), column=_first(fields, _COLUMN),
               values=values)


def _first(fields: dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if name in fields:
            return fields[name]
    return ""
