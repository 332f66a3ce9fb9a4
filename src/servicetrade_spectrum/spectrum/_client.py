"""The Spectrum Data Exchange client: one object per Spectrum connection.

Each call: clean and validate the values against the service layout, build the envelope with
a fresh GUID, post it (HTTP Basic ``Company_Code:Authorization_ID``, or a Bearer token with
enhanced authentication) while holding one of the server's concurrency slots, and classify
the answer into an outcome. Transient outcomes are retried under the client's
:class:`~servicetrade_spectrum.retry.RetryPolicy`, each try with a new GUID.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from servicetrade_spectrum._http import CookielessClient
from servicetrade_spectrum.retry import RetryPolicy, retry_call
from servicetrade_spectrum.spectrum._auth import (
    ClientCredentials,
    RotatedSecret,
    TokenProvider,
    TokenRefused,
    TokenUnavailable,
)
from servicetrade_spectrum.spectrum._classify import classify_answer
from servicetrade_spectrum.spectrum._envelope import build_envelope, clean_text
from servicetrade_spectrum.spectrum._exceptions import InvalidRequest
from servicetrade_spectrum.spectrum._layouts import (
    ADD_CUSTOMER,
    ADD_WO_SITE_ADDRESS,
    GET_CUSTOMERS,
    WORK_ORDER_HEADER,
    Layout,
    Problem,
)
from servicetrade_spectrum.spectrum._limits import Gate, server_slot
from servicetrade_spectrum.spectrum._outcomes import (
    AuthenticationFailed,
    Exchange,
    NotAuthorized,
    Outcome,
    Rejected,
    Succeeded,
    Transient,
)

__all__ = ["ConnectionCheck", "SpectrumClient"]

MASK = "***"
_SERVER_FILLED = ("Authorization_ID", "GUID")


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """What ``connection test`` reports. Nothing is created or changed in Spectrum."""

    reachable: bool
    authenticated: bool
    authorized: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated and all(self.authorized.values())


class SpectrumClient:
    """Talks to one Spectrum server as one Authorization ID (and company).

    ``ws_url`` is the Web Services URL ending in ``/ws`` (``https://host:8482/ws``);
    services are posted to ``{ws_url}/{Service}`` and the token endpoint is the same URL
    without ``/ws``, plus ``/connect/token``.
    """

    def __init__(
        self,
        ws_url: str,
        *,
        authorization_id: str,
        company_code: str = "",
        credentials: ClientCredentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        concurrency: int = 3,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        gate: Gate | None = None,
    ) -> None:
        self.ws_url = ws_url.rstrip("/")
        self.company_code = company_code
        self._authorization_id = authorization_id
        self._credentials = credentials
        self._concurrency = concurrency
        self._gate: Gate = gate or (lambda url: server_slot(url, concurrency))
        self._retry = retry or RetryPolicy.no_retries()
        self._sleep = sleep
        self._timeout = timeout
        self._http = CookielessClient(transport=transport, timeout=timeout)
        base = self.ws_url[: -len("/ws")] if self.ws_url.endswith("/ws") else self.ws_url
        self._tokens = (TokenProvider(base, credentials, self._http)
                        if credentials is not None else None)

    def __repr__(self) -> str:
        return f"SpectrumClient({self.ws_url!r}, company_code={self.company_code!r})"

    # -- services ------------------------------------------------------------------------
    def work_order_header(self, values: Mapping[str, str]) -> Outcome:
        """Create or update one work order (upsert on ``WO_Number``)."""
        return self.call(WORK_ORDER_HEADER, values)

    def get_customers(self, status: str = "") -> Outcome:
        """AR customers: ``status`` blank = active, ``I`` = active and inactive, ``ALL``."""
        return self.call(GET_CUSTOMERS, {"pStatus": status})

    def add_customer(self, values: Mapping[str, str]) -> Outcome:
        return self.call(ADD_CUSTOMER, values)

    def add_wo_site_address(self, values: Mapping[str, str]) -> Outcome:
        return self.call(ADD_WO_SITE_ADDRESS, values)

    def rotate_secret(self) -> RotatedSecret:
        """Replace the enhanced-authentication client secret; store the answer at once."""
        if self._tokens is None:
            raise ValueError("secret rotation needs enhanced authentication (client id/secret)")
        return self._tokens.rotate_secret()

    # -- the generic call ----------------------------------------------------------------
    def prepare(self, layout: Layout, values: Mapping[str, str]) -> dict[str, str]:
        """The values as they will be sent: cleaned, company filled in, validated.

        Raises :class:`InvalidRequest` listing every violation; nothing is sent then.
        """
        prepared = {name: clean_text(value) for name, value in values.items()}
        for company_element in ("Company_Code", "pCompany_Code"):
            if company_element in layout.names and not prepared.get(company_element):
                prepared[company_element] = self.company_code
        prepared["Authorization_ID"] = self._authorization_id
        violations = [v for v in layout.validate(prepared)
                      if not (v.problem is Problem.UNKNOWN_ELEMENT and v.element == "GUID")]
        if violations:
            raise InvalidRequest(layout.service, violations)
        return prepared

    def call(self, layout: Layout, values: Mapping[str, str]) -> Outcome:
        """Validate, send and classify one call, retrying transient outcomes."""
        prepared = self.prepare(layout, values)
        return self._call_with_retries(layout, prepared)

    def _call_with_retries(self, layout: Layout, prepared: Mapping[str, str]) -> Outcome:
        tries = 0

        def attempt() -> Outcome:
            nonlocal tries
            tries += 1
            return self._send_once(layout, prepared)

        outcome = retry_call(attempt, self._retry, sleep=self._sleep,
                             is_transient=lambda result: isinstance(result, Transient))
        if tries == 1:
            return outcome
        return dataclasses.replace(
            outcome, exchange=dataclasses.replace(outcome.exchange, attempts=tries))

    def _send_once(self, layout: Layout, prepared: Mapping[str, str]) -> Outcome:
        guid = str(uuid.uuid4())
        values = {**prepared, "GUID": guid}
        body = build_envelope(layout, values)
        url = f"{self.ws_url}/{layout.service}"
        exchange = Exchange(service=layout.service, url=url, guid=guid,
                            request_body=build_envelope(
                                layout, {**values, "Authorization_ID": MASK}).decode())
        started = time.perf_counter()
        with self._gate(self.ws_url):
            try:
                response = self._post(url, body)
            except TokenRefused as exc:
                return AuthenticationFailed(
                    exchange, f"Spectrum's token endpoint refused the client ID or secret: {exc}")
            except TokenUnavailable as exc:
                return Transient(exchange, f"Spectrum's token endpoint failed: {exc}")
            except httpx.TimeoutException:
                return Transient(_timed(exchange, started),
                                 f"no answer from Spectrum within {self._timeout:g}s")
            except httpx.TransportError as exc:
                return Transient(_timed(exchange, started),
                                 f"could not reach Spectrum at {url}: {_describe(exc)}")
        exchange = dataclasses.replace(
            _timed(exchange, started), http_status=response.status_code,
            response_body=self._redact(response.text))
        return classify_answer(exchange, response.content, get_service=layout.kind == "get")

    def _post(self, url: str, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": url}
        if self._tokens is None:
            return self._http.post(url, content=body, headers=headers,
                                   auth=(self.company_code, self._authorization_id))
        token = self._tokens.token()
        response = self._http.post(url, content=body,
                                   headers={**headers, "Authorization": f"Bearer {token}"})
        if response.status_code == 401:  # expired or revoked early: one fresh token, once
            self._tokens.invalidate(token)
            token = self._tokens.token()
            response = self._http.post(url, content=body,
                                       headers={**headers, "Authorization": f"Bearer {token}"})
        return response

    def _redact(self, text: str) -> str:
        for secret in (self._authorization_id,
                       self._credentials.client_secret if self._credentials else ""):
            if secret:
                text = text.replace(secret, MASK)
        return text

    # -- connection test -----------------------------------------------------------------
    def check_connection(self, services: tuple[Layout, ...] = (WORK_ORDER_HEADER,)
                         ) -> ConnectionCheck:
        """Is Spectrum reachable, are the credentials accepted, are ``services`` authorized?

        Each service is probed with every value blank except the Authorization ID and
        company. Spectrum checks authorization first, so an ``A`` row means not authorized
        and ``M``/``I`` rows mean the call reached validation: authorized. A blank
        WO_Reference_Code is always refused, so the probe never creates a work order.
        """
        authorized: dict[str, bool] = {}
        problems: list[str] = []
        reachable = authenticated = True
        for layout in services:
            values = {"Authorization_ID": self._authorization_id}
            for company_element in ("Company_Code", "pCompany_Code"):
                if company_element in layout.names:
                    values[company_element] = self.company_code
            outcome = self._call_with_retries(layout, values)
            if isinstance(outcome, Transient):
                reachable = False
                problems.append(f"{layout.service}: {outcome.reason}")
            elif isinstance(outcome, AuthenticationFailed):
                authenticated = False
                problems.append(f"{layout.service}: {outcome.message}")
            elif isinstance(outcome, NotAuthorized):
                authorized[layout.service] = False
                problems.append(f"{layout.service}: {outcome.message}")
            elif isinstance(outcome, Rejected | Succeeded):
                authorized[layout.service] = True
        return ConnectionCheck(reachable, authenticated, authorized, problems)

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SpectrumClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _timed(exchange: Exchange, started: float) -> Exchange:
    return dataclasses.replace(exchange, duration_seconds=time.perf_counter() - started)


def _describe(exc: httpx.TransportError) -> str:
    detail = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {detail}" if str(exc) else detail
