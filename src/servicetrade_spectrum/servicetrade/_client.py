"""The ServiceTrade REST client: reads jobs and their mappings, writes external IDs and comments.

One client per process (or per ServiceTrade account) is meant to be shared by worker threads:
``httpx.Client`` is thread-safe and the authenticator lets one thread at a time log in or
refresh. Transient failures (429, 5xx, timeouts, broken connections) are retried here with the
project's :class:`~servicetrade_spectrum.retry.RetryPolicy`; other 4xx never are.

Writes and retries
    Setting an external ID is idempotent (the same value again changes nothing), so it is
    retried freely. Adding a comment or registering a webhook is not: a 5xx or a read timeout
    may come *after* ServiceTrade stored the record. After such an ambiguous failure the client
    reads the job's comments (or the webhooks) back and only posts again when the record is not
    there; with ``check_before_retry=False`` it does not retry ambiguous failures at all and the
    caller sees :class:`ServiceTradeUnavailable` with ``maybe_applied=True``. A 429 or a refused
    connection never reached the data, so those are always retried.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from servicetrade_spectrum import __version__
from servicetrade_spectrum._http import CookielessClient
from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.retry import RetryPolicy, retry_call
from servicetrade_spectrum.servicetrade._auth import (
    Authenticator,
    Credential,
    ServiceTradeAuth,
    make_authenticator,
)
from servicetrade_spectrum.servicetrade._exceptions import (
    AuthenticationFailed,
    NotFound,
    ServiceTradeUnavailable,
    UnexpectedResponse,
)
from servicetrade_spectrum.servicetrade._models import (
    Comment,
    Company,
    Contract,
    EntityEvents,
    Job,
    JobContext,
    Location,
    Webhook,
)
from servicetrade_spectrum.servicetrade._responses import (
    REQUEST_ID_HEADER,
    envelope_data,
    error_for,
    transport_error,
)

__all__ = ["DEFAULT_BASE_URL", "JOB_ENTITY_TYPE", "ServiceTradeClient"]

DEFAULT_BASE_URL = "https://api.servicetrade.com/api"
JOB_ENTITY_TYPE = 3
"""ServiceTrade's entity type number for jobs (comments, webhooks)."""

_SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_PAGE_SIZE = 2000
_IDS_PER_SEARCH = 200  # keeps a search by IDs well inside URL length limits

_log = get_logger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
Entity = Literal["job", "company", "location", "contract"]


def _csv(values: str | Sequence[str] | Sequence[int]) -> str:
    if isinstance(values, str):
        return values
    return ",".join(str(v) for v in values)


def _check_system(system: str) -> None:
    if not _SYSTEM_NAME.match(system):
        raise ValueError(f"external system name {system!r} is not valid in ServiceTrade: use "
                         "lower-case letters, digits and underscores, starting with a letter")


def _transient(result: object) -> bool:
    return isinstance(result, ServiceTradeUnavailable)


class ServiceTradeClient:
    """Synchronous, thread-safe client of ServiceTrade's REST API.

    ``base_url`` is the API root ending in ``/api``; resource paths are appended to it.
    Use it as a context manager, or call :meth:`close` (which ends a login session).
    """

    def __init__(self, base_url: str, auth: ServiceTradeAuth, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"ServiceTrade URL {base_url!r} must start with http:// or "
                             "https:// (e.g. https://api.servicetrade.com/api)")
        self.base_url = base_url.rstrip("/")
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        # No cookies kept: the session cookie is sent explicitly per request, so that a
        # re-login by one thread cannot mix with another thread's stale cookie.
        self._http = CookielessClient(transport=transport, timeout=timeout,
                                      headers={"User-Agent": f"st-spectrum/{__version__}",
                                               "Accept": "application/json"})
        self._auth: Authenticator = make_authenticator(self._http, self.base_url, auth)
        self._reader_pool: ThreadPoolExecutor | None = None
        self._readers_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServiceTradeClient({self.base_url!r})"

    # --- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """End the ServiceTrade session (``DELETE /auth``) and release connections."""
        try:
            self._auth.close()
        finally:
            self._http.close()
            if self._reader_pool is not None:
                self._reader_pool.shutdown(wait=False)

    def __enter__(self) -> ServiceTradeClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------
    def _send(self, method: str, url: str, credential: Credential, *, what: str,
              params: Mapping[str, str | int] | None, json: Any) -> httpx.Response:
        request = self._http.build_request(method, url, params=params, json=json,
                                           headers=credential.headers)
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            raise transport_error(exc, request, what=what) from exc

    def _attempt(self, method: str, path: str, *, what: str,
                 params: Mapping[str, str | int] | None = None, json: Any = None) -> Any:
        """One try (plus one re-login on 401): the ``data`` or the classified exception."""
        url = f"{self.base_url}{path}"
        credential = self._auth.credential()
        response = self._send(method, url, credential, what=what, params=params, json=json)
        if response.status_code == 401:
            _log.info("servicetrade.unauthorized", call=f"{method} {path}",
                      request_id=response.headers.get(REQUEST_ID_HEADER))
            credential = self._auth.renew(credential)
            response = self._send(method, url, credential, what=what, params=params, json=json)
            if response.status_code == 401:
                raise AuthenticationFailed(
                    f"ServiceTrade answered 401 to {method} {path} ({what}) again right after "
                    "a new login; check that the API user is active and has the Account Admin "
                    "role", request_id=response.headers.get(REQUEST_ID_HEADER))
        if not response.is_success:
            raise error_for(response, what=what)
        return envelope_data(response, what=what)

    def _retrying(self, attempt: Callable[[], T], *, what: str,
                  is_transient: Callable[[object], bool] = _transient) -> T:
        """Run ``attempt`` under the retry policy, waiting at least a 429's ``Retry-After``."""
        asked_wait = 0.0

        def on_retry(retry_number: int, delay: float, result: object) -> None:
            nonlocal asked_wait
            asked_wait = 0.0
            if isinstance(result, ServiceTradeUnavailable):
                asked_wait = min(result.retry_after or 0.0, self._retry.max_delay)
            _log.warning("servicetrade.retry", what=what, retry=retry_number,
                         delay=round(max(delay, asked_wait), 3),
                         status=getattr(result, "status_code", None),
                         request_id=getattr(result, "request_id", None))

        def sleep(delay: float) -> None:
            self._sleep(max(delay, asked_wait))

        return retry_call(attempt, self._retry, is_transient=is_transient, sleep=sleep,
                          on_retry=on_retry)

    def _call(self, method: str, path: str, *, what: str,
              params: Mapping[str, str | int] | None = None, json: Any = None) -> Any:
        return self._retrying(
            lambda: self._attempt(method, path, what=what, params=params, json=json), what=what)

    @staticmethod
    def _parse(model: type[ModelT], data: Any, *, what: str) -> ModelT:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise UnexpectedResponse(
                f"ServiceTrade's answer for {what} does not look like a {model.__name__} "
                f"({exc.error_count()} problems, first: {exc.errors()[0]['msg']} at "
                f"{'.'.join(map(str, exc.errors()[0]['loc']))})") from exc

    def _pages(self, path: str, params: Mapping[str, str | int], *, key: str,
               what: str) -> Iterator[Any]:
        """Every item of a paged list (``page`` is 1-based, ``totalPages`` says when to stop)."""
        page = 1
        while True:
            data = self._call("GET", path, what=f"{what}, page {page}",
                              params={**params, "page": page})
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise UnexpectedResponse(f"ServiceTrade's answer for {what} has no data.{key} "
                                         "list")
            yield from data[key]
            total_pages = data.get("totalPages")
            if not isinstance(total_pages, int) or page >= total_pages or not data[key]:
                return
            page += 1

    # --- reads -------------------------------------------------------------------------------
    def get_job(self, job_id: int) -> Job:
        what = f"job {job_id}"
        return self._parse(Job, self._call("GET", f"/job/{job_id}", what=what), what=what)

    def _with_external_ids(self, entity: Entity, entity_id: int, model: type[ModelT]) -> ModelT:
        what = f"{entity} {entity_id}"
        data = self._call("GET", f"/{entity}/{entity_id}", what=what)
        if isinstance(data, dict) and "externalIds" not in data:
            data = {**data, "externalIds": self.external_ids(entity, entity_id)}
        return self._parse(model, data, what=what)

    def get_company(self, company_id: int) -> Company:
        """The company with its external IDs (from the ExternalId resource if it lacks them)."""
        return self._with_external_ids("company", company_id, Company)

    def get_location(self, location_id: int) -> Location:
        return self._with_external_ids("location", location_id, Location)

    def get_contract(self, contract_id: int) -> Contract:
        return self._with_external_ids("contract", contract_id, Contract)

    def read_job_context(self, job: Job | int) -> JobContext:
        """The job's company, location and contract, read at the same time (one round trip)."""
        if isinstance(job, int):
            job = self.get_job(job)
        pool = self._readers()
        company = pool.submit(self.get_company, job.customer.id) if job.customer else None
        location = pool.submit(self.get_location, job.location.id) if job.location else None
        contract = pool.submit(self.get_contract, job.contract.id) if job.contract else None
        return JobContext(job=job, company=company.result() if company else None,
                          location=location.result() if location else None,
                          contract=contract.result() if contract else None)

    def _readers(self) -> ThreadPoolExecutor:
        """Threads for reads made at the same time; kept for the client's life (starting
        three threads per send cost more CPU than the reads' own Python work)."""
        with self._readers_lock:
            if self._reader_pool is None:
                self._reader_pool = ThreadPoolExecutor(max_workers=6,
                                                       thread_name_prefix="servicetrade-read")
            return self._reader_pool

    def _list_records(self, entity: Entity, key: str, model: type[ModelT], *, what: str,
                      page_size: int) -> list[ModelT]:
        """Every record of a list, with external IDs, in as few calls as the list allows.

        Read at the largest page size by default: an account may have thousands of records,
        and each page is a round trip. A listed record that carries ``externalIds`` needs
        nothing more; only one that lacks them (some ServiceTrade answers omit them) is
        completed from the ExternalId resource, a few at a time.
        """
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{_MAX_PAGE_SIZE} (ServiceTrade's limit)")
        items = list(self._pages(f"/{entity}", {"limit": page_size}, key=key, what=what))
        lacking = [i for i, item in enumerate(items)
                   if isinstance(item, dict) and "externalIds" not in item
                   and isinstance(item.get("id"), int)]
        if lacking:
            with ThreadPoolExecutor(max_workers=min(8, len(lacking)),
                                    thread_name_prefix="servicetrade-ids") as pool:
                found = pool.map(lambda i: self.external_ids(entity, items[i]["id"]), lacking)
                for index, ids in zip(lacking, found, strict=True):
                    items[index] = {**items[index], "externalIds": ids}
        return [self._parse(model, item, what=f"a {entity} in the {what}") for item in items]

    def list_companies(self, *, page_size: int = _MAX_PAGE_SIZE) -> list[Company]:
        """Every company of the account, with its external IDs (customer codes)."""
        return self._list_records("company", "companies", Company, what="company list",
                                  page_size=page_size)

    def list_locations(self, *, page_size: int = _MAX_PAGE_SIZE) -> list[Location]:
        """Every location of the account, with its external IDs (site IDs)."""
        return self._list_records("location", "locations", Location, what="location list",
                                  page_size=page_size)

    def list_contracts(self, *, page_size: int = _MAX_PAGE_SIZE) -> list[Contract]:
        """Every contract of the account, with its external IDs (contract numbers)."""
        return self._list_records("contract", "contracts", Contract, what="contract list",
                                  page_size=page_size)

    def search_jobs(self, *, status: str | Sequence[str] | None = None,
                    updated_after: int | datetime | None = None,
                    type: str | Sequence[str] | None = None,  # the API filter's name
                    ids: Sequence[int] | None = None,
                    page_size: int = 500) -> Iterator[Job]:
        """Every job matching all the given filters, over as many pages as it takes.

        ``updated_after`` is Unix seconds (or an aware ``datetime``). A large ``ids`` list is
        searched in chunks. Pages are fetched lazily, as the iterator is consumed.
        """
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{_MAX_PAGE_SIZE} (ServiceTrade's limit)")
        params: dict[str, str | int] = {"limit": page_size}
        if status:
            params["status"] = _csv(status)
        if type:
            params["type"] = _csv(type)
        if updated_after is not None:
            params["updatedAfter"] = (int(updated_after.timestamp())
                                      if isinstance(updated_after, datetime) else updated_after)
        if ids is None:
            for item in self._pages("/job", params, key="jobs", what="job search"):
                yield self._parse(Job, item, what="a job in a search")
            return
        for start in range(0, len(ids), _IDS_PER_SEARCH):
            chunk = {**params, "id": _csv(ids[start:start + _IDS_PER_SEARCH])}
            for item in self._pages("/job", chunk, key="jobs", what="job search by id"):
                yield self._parse(Job, item, what="a job in a search")

    # --- external IDs ------------------------------------------------------------------------
    def external_ids(self, entity: str, entity_id: int) -> dict[str, str]:
        """All external IDs of a record: system name -> value."""
        data = self._call("GET", f"/externalid/{entity}/{entity_id}",
                          what=f"external IDs of {entity} {entity_id}")
        values = data.get("values") if isinstance(data, dict) else None
        if values is None or values == []:
            return {}
        if not isinstance(values, dict):
            raise UnexpectedResponse(f"ServiceTrade's external IDs of {entity} {entity_id} "
                                     "are not an object")
        return {str(k): str(v) for k, v in values.items() if v not in (None, "")}

    def external_id(self, entity: str, entity_id: int, system: str) -> str | None:
        """The record's ID in ``system``, or ``None`` when it is not mapped (a 404)."""
        _check_system(system)
        try:
            data = self._call("GET", f"/externalid/{entity}/{entity_id}/{system}",
                              what=f"{system} external ID of {entity} {entity_id}")
        except NotFound:
            return None
        value = data.get("value") if isinstance(data, dict) else None
        return str(value) if value not in (None, "") else None

    @overload
    def find_by_external_id(self, entity: Literal["job"], system: str,
                            value: str) -> Job | None: ...
    @overload
    def find_by_external_id(self, entity: Literal["company"], system: str,
                            value: str) -> Company | None: ...
    @overload
    def find_by_external_id(self, entity: Literal["location"], system: str,
                            value: str) -> Location | None: ...
    @overload
    def find_by_external_id(self, entity: Literal["contract"], system: str,
                            value: str) -> Contract | None: ...

    def find_by_external_id(self, entity: Entity, system: str,
                            value: str) -> Job | Company | Location | Contract | None:
        """The record whose ``system`` external ID is ``value`` (reverse lookup), or ``None``."""
        _check_system(system)
        what = f"{entity} with {system} external ID {value!r}"
        try:
            data = self._call("GET", f"/externalid/{entity}/{system}/{quote(value, safe='')}",
                              what=what)
        except NotFound:
            return None
        models: dict[str, type[Job | Company | Location | Contract]] = {
            "job": Job, "company": Company, "location": Location, "contract": Contract}
        return self._parse(models[entity], data, what=what)

    def set_external_id(self, entity: str, entity_id: int, system: str, value: str, *,
                        known: Mapping[str, str] | None = None) -> bool:
        """Make the record's ``system`` external ID ``value``; return whether it was written.

        Nothing is written when the record already holds ``value``. ``known`` is the record's
        external IDs as already read (e.g. ``job.external_ids``), which saves a read.
        """
        _check_system(system)
        if not value:
            raise ValueError("an external ID value cannot be empty; use clear_external_id")
        current = known.get(system) if known is not None else self.external_id(
            entity, entity_id, system)
        if current == value:
            return False
        method = "POST" if not current else "PUT"
        self._call(method, f"/externalid/{entity}/{entity_id}/{system}", json={"value": value},
                   what=f"{system} external ID of {entity} {entity_id}")
        _log.info("servicetrade.external_id_set", entity=entity, entity_id=entity_id,
                  system=system, value=value, replaced=current)
        return True

    def set_job_external_id(self, job_id: int, system: str, value: str, *,
                            known: Mapping[str, str] | None = None) -> bool:
        """Record e.g. the Spectrum work order number on the job (skipped when already set)."""
        return self.set_external_id("job", job_id, system, value, known=known)

    def clear_external_id(self, entity: str, entity_id: int, system: str) -> None:
        _check_system(system)
        self._call("PUT", f"/externalid/{entity}/{entity_id}/{system}", json={"value": ""},
                   what=f"{system} external ID of {entity} {entity_id}")

    # --- non-idempotent writes ---------------------------------------------------------------
    def _create_once(self, path: str, body: dict[str, Any], *, what: str,
                     find_applied: Callable[[], Any | None], check_before_retry: bool) -> Any:
        """POST a create that must not happen twice (see the module docstring)."""
        ambiguous = False

        def attempt() -> Any:
            nonlocal ambiguous
            if ambiguous:
                applied = find_applied()
                if applied is not None:
                    _log.info("servicetrade.create_found_after_failure", what=what)
                    return applied
            try:
                return self._attempt("POST", path, what=what, json=body)
            except ServiceTradeUnavailable as exc:
                ambiguous = ambiguous or exc.maybe_applied
                raise

        def is_transient(result: object) -> bool:
            if not isinstance(result, ServiceTradeUnavailable):
                return False
            return check_before_retry or not result.maybe_applied

        return self._retrying(attempt, what=what, is_transient=is_transient)

    def job_comments(self, job_id: int) -> list[Comment]:
        """The job's comments, oldest first."""
        params: dict[str, str | int] = {"entityType": JOB_ENTITY_TYPE, "entityId": job_id,
                                        "limit": _MAX_PAGE_SIZE}
        return [self._parse(Comment, item, what=f"a comment of job {job_id}")
                for item in self._pages("/comment", params, key="comments",
                                        what=f"comments of job {job_id}")]

    def add_job_comment(self, job_id: int, content: str, *,
                        check_before_retry: bool = True) -> Comment:
        """Add a private comment (no ``visibility``) to the job; never posted twice.

        After an ambiguous failure (5xx, read timeout) the job's comments are read back; one
        with exactly this ``content`` counts as this comment, so identical text already on the
        job is not posted again.
        """
        if not content.strip():
            raise ValueError("a ServiceTrade comment needs some text")
        body = {"entityType": JOB_ENTITY_TYPE, "entityId": job_id, "content": content}

        def find_applied() -> Comment | None:
            return next((c for c in reversed(self.job_comments(job_id)) if c.content == content),
                        None)

        data = self._create_once("/comment", body, what=f"comment on job {job_id}",
                                 find_applied=find_applied,
                                 check_before_retry=check_before_retry)
        if isinstance(data, Comment):
            return data
        return self._parse(Comment, data, what=f"the new comment on job {job_id}")

    # --- webhooks ----------------------------------------------------------------------------
    def register_webhook(self, hook_url: str, *, entity_type: int = JOB_ENTITY_TYPE,
                         actions: Sequence[str] = ("created", "updated"),
                         include_changesets: bool = True, enabled: bool = True,
                         check_before_retry: bool = True) -> Webhook:
        """Ask ServiceTrade to POST events on ``entity_type`` (job = 3) to ``hook_url``."""
        body = {"hookUrl": hook_url, "enabled": enabled, "includeChangesets": include_changesets,
                "entityEvents": [{"entityType": entity_type, "actions": list(actions)}]}

        def find_applied() -> Webhook | None:
            return next((w for w in self.list_webhooks() if w.hook_url == hook_url), None)

        data = self._create_once("/webhook", body, what=f"webhook for {hook_url}",
                                 find_applied=find_applied,
                                 check_before_retry=check_before_retry)
        if isinstance(data, Webhook):
            return data
        return self._parse(Webhook, data, what="the new webhook")

    def list_webhooks(self) -> list[Webhook]:
        return [self._parse(Webhook, item, what="a webhook")
                for item in self._pages("/webhook", {"limit": _MAX_PAGE_SIZE}, key="webhooks",
                                        what="webhooks")]

    def get_webhook(self, webhook_id: int) -> Webhook:
        what = f"webhook {webhook_id}"
        return self._parse(Webhook, self._call("GET", f"/webhook/{webhook_id}", what=what),
                           what=what)

    def update_webhook(self, webhook_id: int, *, hook_url: str | None = None,
                       enabled: bool | None = None, include_changesets: bool | None = None,
                       entity_events: Sequence[EntityEvents] | None = None) -> Webhook:
        """Change the given settings of a webhook (the others stay as they are)."""
        body: dict[str, Any] = {}
        if hook_url is not None:
            body["hookUrl"] = hook_url
        if enabled is not None:
            body["enabled"] = enabled
        if include_changesets is not None:
            body["includeChangesets"] = include_changesets
        if entity_events is not None:
            body["entityEvents"] = [e.model_dump(by_alias=True) for e in entity_events]
        what = f"webhook {webhook_id}"
        return self._parse(Webhook, self._call("PUT", f"/webhook/{webhook_id}", json=body,
                                               what=what), what=what)

    def delete_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"/webhook/{webhook_id}", what=f"webhook {webhook_id}")
