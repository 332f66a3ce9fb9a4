"""The emulated ServiceTrade account: records, sessions, tokens, and the rules the API applies.

Rows are kept in the ``--data`` JSON format (see :func:`~servicetrade_spectrum.emulators.seed.
servicetrade_state`), so :meth:`AccountState.dump` can be saved and loaded again. Every
method takes the one lock: the HTTP app, the test's Python calls and the webhook thread all
touch the same state. Failures are :class:`ApiError`, which the app turns into ServiceTrade's
error envelope.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMMENT_ENTITY_TYPES",
    "EXTERNAL_ID_ENTITIES",
    "JOB_ENTITY_TYPE",
    "AccountState",
    "ApiError",
    "JobChange",
    "Session",
]

JOB_ENTITY_TYPE = 3
COMMENT_ENTITY_TYPES = {2: "asset", 3: "job", 5: "company", 6: "invoice", 9: "quote",
                        10: "deficiency", 11: "location"}
EXTERNAL_ID_ENTITIES = ("job", "company", "location", "contract")
JOB_STATUSES = frozenset({"new", "scheduled", "completed", "closed", "canceled",
                          "pending_invoice", "bidding"})
_SYSTEM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_MAX_PAGE_SIZE = 2000
_JOB_FIELDS = ("name", "description", "customerPo", "type", "status", "tags", "scheduledDate",
               "dueBy", "completedOn", "contractId")


class ApiError(Exception):
    """A failure answered as ServiceTrade does: a status, ``messages.error`` and validation."""

    def __init__(self, status: int, *errors: str, validation: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__("; ".join(errors) or f"HTTP {status}")
        self.status = status
        self.errors = list(errors)
        self.validation = dict(validation or {})
        self.headers = dict(headers or {})


def invalid(field_name: str, problem: str) -> ApiError:
    return ApiError(400, "Validation failed", validation={field_name: problem})


@dataclass
class Session:
    """One login session (the ``PHPSESSID`` cookie value is its token)."""

    token: str
    user_id: int
    username: str
    created: float
    last_used: float


@dataclass(frozen=True)
class JobChange:
    """A job created or updated: what a webhook event reports."""

    action: str
    job_id: int
    user_id: int | None
    changeset: list[dict[str, Any]] = field(default_factory=list)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _is_system_name(system: str) -> bool:
    return bool(system) and system[0].isalpha() and set(system) <= _SYSTEM_CHARS


class AccountState:
    """All of one emulated ServiceTrade account, behind one lock."""

    def __init__(self, data: Mapping[str, Any], *, max_sessions_per_user: int = 5,
                 token_lifetime: float = 3600.0, entity_external_ids: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.entity_external_ids = entity_external_ids
        """False: company/location/contract reads omit ``externalIds`` (read them from the
        ExternalId resource), as some ServiceTrade answers do."""
        self.clock = clock
        self.max_sessions_per_user = max_sessions_per_user
        self.token_lifetime = token_lifetime
        data = copy.deepcopy(dict(data))
        self.users: list[dict[str, Any]] = data.get("users", [])
        self.oauth_clients: list[dict[str, Any]] = data.get("oauth_clients", [])
        self.companies = {row["id"]: row for row in data.get("companies", [])}
        self.locations = {row["id"]: row for row in data.get("locations", [])}
        self.contracts = {row["id"]: row for row in data.get("contracts", [])}
        self.jobs = {row["id"]: row for row in data.get("jobs", [])}
        self.comments: list[dict[str, Any]] = data.get("comments", [])
        self.webhooks = {row["id"]: row for row in data.get("webhooks", [])}
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.access_tokens: dict[str, tuple[str, float]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.login_count = 0
        self.token_count = 0
        self._next_id = max([1_000_000, *self.jobs, *self.companies, *self.locations,
                             *self.contracts, *self.webhooks,
                             *(c["id"] for c in self.comments)]) + 1

    def _new_id(self) -> int:
        self._next_id += 1
        return int(self._next_id)

    def dump(self) -> dict[str, Any]:
        """The state in the ``--data`` JSON format."""
        with self.lock:
            return copy.deepcopy({
                "users": self.users, "oauth_clients": self.oauth_clients,
                "companies": list(self.companies.values()),
                "locations": list(self.locations.values()),
                "contracts": list(self.contracts.values()),
                "jobs": list(self.jobs.values()), "comments": self.comments,
                "webhooks": list(self.webhooks.values()),
            })

    # --- session auth ------------------------------------------------------------------------
    def login(self, username: Any, password: Any) -> Session:
        with self.lock:
            user = next((u for u in self.users if u["username"] == username), None)
            if user is None or not secrets.compare_digest(str(password), user["password"]):
                raise ApiError(401, "Invalid username or password")
            now = self.clock()
            session = Session(secrets.token_hex(16), user["id"], user["username"], now, now)
            self.sessions[session.token] = session
            self.login_count += 1
            own = [s for s in self.sessions.values() if s.user_id == user["id"]]
            for old in own[:max(0, len(own) - self.max_sessions_per_user)]:
                del self.sessions[old.token]  # ServiceTrade drops the oldest sessions
            return session

    def logout(self, token: str | None) -> bool:
        with self.lock:
            return self.sessions.pop(token or "", None) is not None

    def session_user(self, token: str | None) -> int | None:
        with self.lock:
            session = self.sessions.get(token or "")
            if session is None:
                return None
            session.last_used = self.clock()
            return session.user_id

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def set_password(self, username: str, password: str) -> None:
        with self.lock:
            next(u for u in self.users if u["username"] == username)["password"] = password

    # --- OAuth2 ------------------------------------------------------------------------------
    def _client(self, client_id: str | None, client_secret: str | None,
                *, secret_required: bool) -> dict[str, Any]:
        client = next((c for c in self.oauth_clients if c["client_id"] == client_id), None)
        if client is None or (
                (secret_required or client_secret is not None)
                and not secrets.compare_digest(str(client_secret or ""), client["client_secret"])):
            raise ApiError(401, "invalid_client: unknown client or wrong client secret")
        return client

    def issue_token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer ``POST /oauth2/token`` (client_credentials or refresh_token grant)."""
        with self.lock:
            grant = form.get("grant_type")
            client_id = form.get("client_id")
            if grant == "client_credentials":
                self._client(client_id, form.get("client_secret"), secret_required=True)
            elif grant == "refresh_token":
                self._client(client_id, form.get("client_secret"), secret_required=False)
                old = form.get("refresh_token", "")
                if self.refresh_tokens.get(old) != client_id:
                    raise ApiError(400, "invalid_grant: the refresh token is unknown, expired "
                                        "or already used")
                del self.refresh_tokens[old]  # rotated: single use
            else:
                raise ApiError(400, "unsupported_grant_type: use client_credentials or "
                                    "refresh_token")
            assert client_id is not None
            now = self.clock()
            expires = now + self.token_lifetime
            header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            payload = _b64(json.dumps({"sub": client_id, "iat": int(now), "exp": int(expires),
                                       "jti": secrets.token_hex(8)}).encode())
            access_token = f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"
            refresh_token = secrets.token_urlsafe(24)
            self.access_tokens[access_token] = (client_id, expires)
            self.refresh_tokens[refresh_token] = client_id
            self.token_count += 1
            return {"access_token": access_token, "token_type": "Bearer",
                    "expires_in": max(1, round(self.token_lifetime)),
                    "refresh_token": refresh_token}

    def issue_refresh_token(self, client_id: str) -> str:
        """A refresh token for ``client_id``, as if the account had authorized it."""
        with self.lock:
            self._client(client_id, None, secret_required=False)
            token = secrets.token_urlsafe(24)
            self.refresh_tokens[token] = client_id
            return token

    def bearer_client(self, token: str) -> str | None:
        with self.lock:
            entry = self.access_tokens.get(token)
            if entry is None or entry[1] <= self.clock():
                return None
            return entry[0]

    def expire_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    # --- records -----------------------------------------------------------------------------
    def _company_stub(self, company_id: int | None) -> dict[str, Any] | None:
        company = self.companies.get(company_id) if company_id is not None else None
        return {"id": company["id"], "name": company["name"]} if company else None

    def render_company(self, company_id: int) -> dict[str, Any]:
        with self.lock:
            row = self.companies.get(company_id)
            if row is None:
                raise ApiError(404, f"Company {company_id} not found")
            return self._without_external_ids(copy.deepcopy(row))

    def _without_external_ids(self, out: dict[str, Any]) -> dict[str, Any]:
        if not self.entity_external_ids:
            out.pop("externalIds", None)
        return out

    def render_location(self, location_id: int) -> dict[str, Any]:
        with self.lock:
            row = self.locations.get(location_id)
            if row is None:
                raise ApiError(404, f"Location {location_id} not found")
            out = {k: copy.deepcopy(v) for k, v in row.items() if k != "companyId"}
            out["company"] = self._company_stub(row.get("companyId"))
            return self._without_external_ids(out)

    def render_contract(self, contract_id: int) -> dict[str, Any]:
        with self.lock:
            row = self.contracts.get(contract_id)
            if row is None:
                raise ApiError(404, f"Contract {contract_id} not found")
            out = {k: copy.deepcopy(v) for k, v in row.items() if k != "companyId"}
            out["company"] = self._company_stub(row.get("companyId"))
            return self._without_external_ids(out)

    def render_job(self, job_id: int) -> dict[str, Any]:
        """The job as ``GET /job/{id}`` shows it: stubs for customer, location and contract,
        *without* their external IDs (a client must read those from the entity)."""
        with self.lock:
            row = self.jobs.get(job_id)
            if row is None:
                raise ApiError(404, f"Job {job_id} not found")
            skip = {"companyId", "locationId", "contractId", "tags"}
            out = {k: copy.deepcopy(v) for k, v in row.items() if k not in skip}
            location = self.locations.get(row.get("locationId"))
            contract = self.contracts.get(row.get("contractId"))
            out["customer"] = self._company_stub(row.get("companyId"))
            out["location"] = ({"id": location["id"], "name": location["name"],
                                "address": copy.deepcopy(location.get("address"))}
                               if location else None)
            out["contract"] = ({"id": contract["id"], "name": contract["name"]}
                               if contract else None)
            out["tags"] = [{"id": 500 + sum(map(ord, tag)), "name": tag}
                           for tag in row.get("tags", [])]
            out.setdefault("dueBy", None)
            out.setdefault("completedOn", None)
            out["vendor"] = None
            out["owner"] = {"id": 41, "name": "Pat Office"}
            out["assignedOffice"] = {"id": 7, "name": "Columbus"}
            return out

    def _entity_rows(self, entity: str) -> dict[int, dict[str, Any]]:
        if entity not in EXTERNAL_ID_ENTITIES:
            raise ApiError(400, f"Unknown entity type {entity!r}; use one of "
                                f"{', '.join(EXTERNAL_ID_ENTITIES)}")
        rows: dict[int, dict[str, Any]] = getattr(self, f"{entity}s" if entity != "company"
                                                  else "companies")
        return rows

    def render(self, entity: str, entity_id: int) -> dict[str, Any]:
        renderers: dict[str, Callable[[int], dict[str, Any]]] = {
            "job": self.render_job, "company": self.render_company,
            "location": self.render_location, "contract": self.render_contract}
        self._entity_rows(entity)
        return renderers[entity](entity_id)

    def list_records(self, entity: str, ids: Iterable[int]) -> list[dict[str, Any]]:
        with self.lock:
            return [self.render(entity, i) for i in sorted(ids)]

    # --- job search --------------------------------------------------------------------------
    def search_jobs(self, query: Mapping[str, str]) -> dict[str, Any]:
        def csv(name: str) -> set[str] | None:
            value = query.get(name)
            return {v.strip() for v in value.split(",") if v.strip()} if value else None

        def integer(name: str, default: int | None) -> int | None:
            value = query.get(name)
            if value in (None, ""):
                return default
            try:
                return int(value)
            except ValueError:
                raise invalid(name, f"{name} must be an integer") from None

        statuses, types, id_texts = csv("status"), csv("type"), csv("id")
        try:
            ids = {int(v) for v in id_texts} if id_texts else None
        except ValueError:
            raise invalid("id", "id must be comma-separated integers") from None
        updated_after = integer("updatedAfter", None)
        updated_before = integer("updatedBefore", None)
        page = integer("page", 1)
        limit = integer("limit", 100)
        assert page is not None
        assert limit is not None
        if not 1 <= limit <= _MAX_PAGE_SIZE:
            raise invalid("limit", f"limit must be between 1 and {_MAX_PAGE_SIZE}")
        if page < 1:
            raise invalid("page", "page starts at 1")
        with self.lock:
            matching = [
                job_id for job_id, row in sorted(self.jobs.items())
                if (statuses is None or row.get("status") in statuses)
                and (types is None or row.get("type") in types)
                and (ids is None or job_id in ids)
                and (updated_after is None or (row.get("updated") or 0) > updated_after)
                and (updated_before is None or (row.get("updated") or 0) < updated_before)
            ]
            total_pages = max(1, -(-len(matching) // limit))
            chosen = matching[(page - 1) * limit: page * limit]
            return {"jobs": [self.render_job(i) for i in chosen], "page": page,
                    "totalPages": total_pages, "totalItems": len(matching)}

    # --- job writes --------------------------------------------------------------------------
    def _check_job_fields(self, changes: Mapping[str, Any]) -> None:
        unknown = set(changes) - set(_JOB_FIELDS) - {"locationId", "companyId", "number"}
        if unknown:
            raise invalid(sorted(unknown)[0], "this field cannot be set through the emulator")
        if "status" in changes and changes["status"] not in JOB_STATUSES:
            raise invalid("status", f"status must be one of {', '.join(sorted(JOB_STATUSES))}")
        po = changes.get("customerPo")
        if po is not None and (not isinstance(po, str) or len(po) > 40):
            raise invalid("customerPo", "customerPo is text of at most 40 characters")
        if changes.get("contractId") is not None and changes["contractId"] not in self.contracts:
            raise invalid("contractId", f"contract {changes['contractId']} does not exist")
        tags = changes.get("tags")
        if tags is not None and not (isinstance(tags, list)
                                     and all(isinstance(t, str) for t in tags)):
            raise invalid("tags", "tags is a list of tag names")

    def update_job(self, job_id: int, changes: Mapping[str, Any],
                   user_id: int | None = None) -> JobChange:
        with self.lock:
            row = self.jobs.get(job_id)
            if row is None:
                raise ApiError(404, f"Job {job_id} not found")
            self._check_job_fields(changes)
            changeset = [{"field": name, "from": row.get(name), "to": value}
                         for name, value in changes.items() if row.get(name) != value]
            row.update(copy.deepcopy(dict(changes)))
            if changeset:
                row["updated"] = max(int(self.clock()), (row.get("updated") or 0) + 1)
            return JobChange("updated", job_id, user_id, changeset)

    def create_job(self, fields: Mapping[str, Any], user_id: int | None = None) -> JobChange:
        with self.lock:
            self._check_job_fields(fields)
            location = self.locations.get(fields.get("locationId"))
            if location is None:
                raise invalid("locationId", "locationId must name an existing location")
            if not fields.get("type"):
                raise invalid("type", "type is required")
            now = int(self.clock())
            job_id = fields.get("id") or self._new_id()
            number = fields.get("number") or max(
                [10000, *(j.get("number", 0) for j in self.jobs.values())]) + 1
            row: dict[str, Any] = {
                "id": job_id, "number": number, "name": fields.get("name", ""),
                "description": fields.get("description", ""),
                "customerPo": fields.get("customerPo", ""), "type": fields["type"],
                "status": fields.get("status", "new"), "tags": list(fields.get("tags", [])),
                "created": now, "updated": now, "scheduledDate": fields.get("scheduledDate"),
                "companyId": fields.get("companyId") or location["companyId"],
                "locationId": location["id"], "contractId": fields.get("contractId"),
                "externalIds": {},
            }
            self.jobs[job_id] = row
            return JobChange("created", job_id, user_id,
                             [{"field": k, "from": None, "to": v} for k, v in row.items()
                              if k in _JOB_FIELDS and v not in (None, "", [])])

    # --- external IDs ------------------------------------------------------------------------
    def _row(self, entity: str, entity_id: int) -> dict[str, Any]:
        row = self._entity_rows(entity).get(entity_id)
        if row is None:
            raise ApiError(404, f"{entity.capitalize()} {entity_id} not found")
        return row

    def external_ids(self, entity: str, entity_id: int) -> dict[str, str]:
        with self.lock:
            return dict(self._row(entity, entity_id).get("externalIds") or {})

    def external_id(self, entity: str, entity_id: int, system: str) -> str:
        with self.lock:
            value = (self._row(entity, entity_id).get("externalIds") or {}).get(system)
            if not value:
                raise ApiError(404, f"{entity.capitalize()} {entity_id} has no external ID "
                                    f"for system {system!r}")
            return str(value)

    def set_external_id(self, entity: str, entity_id: int, system: str, value: Any, *,
                        replace: bool) -> dict[str, str]:
        """``POST`` (``replace=False``: refuses to overwrite another value) or ``PUT``;
        an empty value clears."""
        with self.lock:
            row = self._row(entity, entity_id)
            if not _is_system_name(system):
                raise invalid("system", "a system name is lower case, starts with a letter, "
                                        "and has only letters, digits and underscores")
            if not isinstance(value, str):
                raise invalid("value", "value must be a string")
            ids: dict[str, str] = row.setdefault("externalIds", {})
            if isinstance(ids, list):  # tolerate [] in hand-written data files
                ids = row["externalIds"] = {}
            if value == "":
                ids.pop(system, None)
                return dict(ids)
            current = ids.get(system)
            if current and current != value and not replace:
                raise invalid("value", f"{entity} {entity_id} already has {system} external "
                                       f"ID {current!r}; update it with PUT")
            holder = next((other_id for other_id, other in self._entity_rows(entity).items()
                           if other_id != entity_id
                           and (other.get("externalIds") or {}).get(system) == value), None)
            if holder is not None:
                raise invalid("value", f"{system} value {value!r} is already used by "
                                       f"{entity} {holder}")
            ids[system] = value
            return dict(ids)

    def find_by_external_id(self, entity: str, system: str, value: str) -> dict[str, Any]:
        with self.lock:
            for entity_id, row in sorted(self._entity_rows(entity).items()):
                if (row.get("externalIds") or {}).get(system) == value:
                    return self.render(entity, entity_id)
            raise ApiError(404, f"No {entity} has {system} external ID {value!r}")

    # --- comments ----------------------------------------------------------------------------
    def add_comment(self, body: Mapping[str, Any], user_id: int | None) -> dict[str, Any]:
        with self.lock:
            entity_type, entity_id = body.get("entityType"), body.get("entityId")
            content = body.get("content")
            if entity_type not in COMMENT_ENTITY_TYPES:
                raise invalid("entityType", "entityType must be a commentable entity "
                                            "(job = 3, company = 5, location = 11, ...)")
            if not isinstance(entity_id, int) or isinstance(entity_id, bool):
                raise invalid("entityId", "entityId must be an integer ID")
            rows = {3: self.jobs, 5: self.companies, 11: self.locations}.get(entity_type)
            if rows is not None and entity_id not in rows:
                raise ApiError(404, f"{COMMENT_ENTITY_TYPES[entity_type].capitalize()} "
                                    f"{entity_id} not found")
            if not isinstance(content, str) or not content.strip():
                raise invalid("content", "content is required")
            visibility = body.get("visibility")
            comment = {"id": self._new_id(), "entityType": entity_type, "entityId": entity_id,
                       "content": content, "visibility": visibility if visibility else [],
                       "created": int(self.clock()), "author": {"id": user_id}}
            self.comments.append(comment)
            return copy.deepcopy(comment)

    def list_comments(self, entity_type: int | None, entity_id: int | None
                      ) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(c) for c in self.comments
                    if (entity_type is None or c["entityType"] == entity_type)
                    and (entity_id is None or c["entityId"] == entity_id)]

    # --- webhooks ----------------------------------------------------------------------------
    @staticmethod
    def _check_webhook(body: Mapping[str, Any], *, creating: bool) -> None:
        url = body.get("hookUrl")
        if (creating or "hookUrl" in body) and not (
                isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise invalid("hookUrl", "hookUrl must be an http(s) URL")
        events = body.get("entityEvents")
        if creating or "entityEvents" in body:
            ok = isinstance(events, list) and events and all(
                isinstance(e, dict) and isinstance(e.get("entityType"), int)
                and isinstance(e.get("actions"), list) and e["actions"] for e in events)
            if not ok:
                raise invalid("entityEvents", "entityEvents is a list of {entityType, actions}")

    def add_webhook(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._check_webhook(body, creating=True)
            hook = {"id": self._new_id(), "hookUrl": body["hookUrl"],
                    "enabled": bool(body.get("enabled", True)),
                    "includeChangesets": bool(body.get("includeChangesets", False)),
                    "entityEvents": copy.deepcopy(body["entityEvents"]),
                    "created": int(self.clock())}
            self.webhooks[hook["id"]] = hook
            return copy.deepcopy(hook)

    def webhook(self, webhook_id: int) -> dict[str, Any]:
        with self.lock:
            hook = self.webhooks.get(webhook_id)
            if hook is None:
                raise ApiError(404, f"Webhook {webhook_id} not found")
            return copy.deepcopy(hook)

    def update_webhook(self, webhook_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            hook = self.webhooks.get(webhook_id)
            if hook is None:
                raise ApiError(404, f"Webhook {webhook_id} not found")
            self._check_webhook(body, creating=False)
            for key in ("hookUrl", "enabled", "includeChangesets", "entityEvents"):
                if key in body:
                    hook[key] = copy.deepcopy(body[key])
            return copy.deepcopy(hook)

    def delete_webhook(self, webhook_id: int) -> None:
        with self.lock:
            if self.webhooks.pop(webhook_id, None) is None:
                raise ApiError(404, f"Webhook {webhook_id} not found")

    def hooks_for(self, entity_type: int, action: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(h) for h in self.webhooks.values()
                    if h.get("enabled") and any(
                        e.get("entityType") == entity_type and action in e.get("actions", [])
                        for e in h.get("entityEvents", []))]
