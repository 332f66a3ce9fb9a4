"""A connection's settings as people type them, checked the way ``st-spectrum connection
add`` checks them, for the connections pages and the REST API alike (one set of rules and
messages, so a value refused on one side is refused on the other with the same words).

Secrets (the Authorization ID, the client secret) come in and go to the store; nothing here
ever hands one back. On an edit a blank secret means "keep the stored one".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from servicetrade_spectrum.domain.connection_settings import (
    LEADING_CHARACTER,
    NOT_AUTHORIZED_FIX,
    SYSTEM_NAME,
)
from servicetrade_spectrum.domain.rules import Rule, Trigger
from servicetrade_spectrum.spectrum._layouts import WORK_ORDER_HEADER
from servicetrade_spectrum.store import (
    AlreadyExists,
    ConnectionConfig,
    NewConnection,
    Store,
)
from servicetrade_spectrum.sync._clients import ClientPool

__all__ = [
    "ConnectionInput",
    "ConnectionTest",
    "Invalid",
    "NameTaken",
    "add_connection",
    "check_rule",
    "expiry_note",
    "run_test",
    "update_connection",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The database's column sizes, for values Spectrum itself puts no limit on.
_NAME_MAX = 100
_URL_MAX = 500
_CLIENT_ID_MAX = 200
_SYSTEM_MAX = 50
_RULE_VALUE_MAX = 100
PAUSE_REASON_MAX = 500

LABELS = {
    "name": "Name", "url": "Web Services URL", "company_code": "Company code",
    "authorization_id": "Authorization ID", "client_id": "Client ID",
    "client_secret": "Client secret", "client_secret_expires_on": "Client secret expires on",
    "system": "External system", "prefix": "Leading character",
    "work_order_type": "Default work order type", "lead_source": "Lead source",
    "preserve_edits": "Preserve Spectrum edits",
}


class Invalid(ValueError):
    """Values that cannot be stored: a message per field (by field name), nothing stored."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = errors


class NameTaken(ValueError):
    """Connection names are unique across the whole database (they name the Send menu's
    entries and the CLI's ``--connection``), so another account's name is taken too."""

    def __init__(self, name: str) -> None:
        super().__init__(f"A connection named '{name}' already exists (names are unique across "
                         "st-spectrum, another account may use it): pick another name.")
        self.name = name


@dataclass
class ConnectionInput:
    """What a person typed into the connection form (or sent to the API)."""

    name: str = ""
    url: str = ""
    company_code: str = ""
    system: str = "spectrum"
    prefix: str = ""
    work_order_type: str = ""
    lead_source: str = ""
    preserve_edits: bool = False
    client_id: str = ""
    client_secret_expires_on: str = ""
    authorization_id: str = field(default="", repr=False)
    """Blank on an edit: keep the stored one."""
    client_secret: str = field(default="", repr=False)
    """Blank on an edit: keep the stored one (removed when the client ID is cleared)."""

    @classmethod
    def of(cls, connection: ConnectionConfig) -> ConnectionInput:
        """The edit form's starting values: every setting, and never a secret."""
        return cls(name=connection.name, url=connection.ws_url,
                   company_code=connection.company_code, system=connection.system,
                   prefix=connection.prefix, work_order_type=connection.work_order_type,
                   lead_source=connection.lead_source, preserve_edits=connection.preserve_edits,
                   client_id=connection.client_id,
                   client_secret_expires_on=connection.client_secret_expires_on)

    def cleaned(self) -> ConnectionInput:
        """Surrounding blanks removed (pasted values carry them), the URL without a trailing
        slash, as the CLI stores it."""
        return ConnectionInput(
            name=self.name.strip(), url=self.url.strip().rstrip("/"),
            company_code=self.company_code.strip(), system=self.system.strip(),
            prefix=self.prefix.strip(), work_order_type=self.work_order_type.strip(),
            lead_source=self.lead_source.strip(), preserve_edits=self.preserve_edits,
            client_id=self.client_id.strip(),
            client_secret_expires_on=self.client_secret_expires_on.strip(),
            authorization_id=self.authorization_id.strip(),
            client_secret=self.client_secret.strip())

    def settings(self) -> dict[str, Any]:
        """The plain settings, by store column."""
        return {"name": self.name, "ws_url": self.url, "company_code": self.company_code,
                "system": self.system, "prefix": self.prefix,
                "work_order_type": self.work_order_type, "lead_source": self.lead_source,
                "preserve_edits": self.preserve_edits, "client_id": self.client_id,
                "client_secret_expires_on": self.client_secret_expires_on}


def _too_long(label: str, value: str, limit: int, element: str = "") -> str:
    where = f"Spectrum's {element} accepts" if element else "st-spectrum keeps"
    return (f"{label} '{value}' is {len(value)} characters; {where} at most {limit}: "
            "shorten it.")


def _spectrum_limit(errors: dict[str, str], key: str, value: str, element: str) -> None:
    limit = WORK_ORDER_HEADER.max_length(element)
    if len(value) > limit:
        errors[key] = _too_long(LABELS[key], value, limit, element)


def check(values: ConnectionInput, *, current: ConnectionConfig | None) -> dict[str, str]:
    """Every problem with ``values`` (already cleaned), by field; empty when they can be
    stored. ``current`` is the stored connection on an edit (None when adding): a blank
    secret then keeps the stored one."""
    errors: dict[str, str] = {}
    if not values.name:
        errors["name"] = "Name is required: the name users pick the connection by."
    elif len(values.name) > _NAME_MAX:
        errors["name"] = _too_long("Name", values.name, _NAME_MAX)
    elif "/" in values.name or _CONTROL.search(values.name):
        errors["name"] = ("Name cannot hold '/' or control characters (it is part of the API's "
                          "addresses): pick another name.")

    parts = urlsplit(values.url)
    if len(values.url) > _URL_MAX:
        errors["url"] = _too_long("Web Services URL", values.url, _URL_MAX)
    elif (parts.scheme not in ("http", "https") or not parts.netloc
          or not parts.path.endswith("/ws")):
        errors["url"] = (f"Web Services URL '{values.url}' must be Spectrum's Web Services URL, "
                         "starting with http:// or https:// and ending in /ws "
                         "(e.g. https://spectrum.example.com:8482/ws).")

    if not values.company_code:
        errors["company_code"] = ("Company code is required (Spectrum company codes are 1 to 3 "
                                  "characters).")
    else:
        _spectrum_limit(errors, "company_code", values.company_code, "Company_Code")

    if not values.authorization_id:
        if current is None:
            errors["authorization_id"] = ("Authorization ID is required: copy it from Spectrum "
                                          "(System Administration > Installation > Data "
                                          "Exchange).")
    else:
        limit = WORK_ORDER_HEADER.max_length("Authorization_ID")
        if len(values.authorization_id) > limit:  # never echo a secret, only its length
            errors["authorization_id"] = (f"The Authorization ID is {len(values.authorization_id)}"
                                          f" characters; Spectrum's Authorization_ID accepts at "
                                          f"most {limit}: check what was pasted.")

    if len(values.system) > _SYSTEM_MAX:
        errors["system"] = _too_long("External system", values.system, _SYSTEM_MAX)
    elif not SYSTEM_NAME.match(values.system):
        errors["system"] = (f"External system '{values.system}' must start with a lower-case "
                            "letter and hold only lower-case letters, digits and underscores "
                            "(e.g. spectrum).")
    if values.prefix and not LEADING_CHARACTER.match(values.prefix):
        errors["prefix"] = (f"Leading character '{values.prefix}' must be one letter or digit "
                            "(or left blank).")
    _spectrum_limit(errors, "work_order_type", values.work_order_type, "WO_Job_Division")
    _spectrum_limit(errors, "lead_source", values.lead_source, "Lead_Source")

    if len(values.client_id) > _CLIENT_ID_MAX:
        errors["client_id"] = _too_long("Client ID", values.client_id, _CLIENT_ID_MAX)
    has_stored_secret = current is not None and bool(current.client_secret)
    if values.client_id and not values.client_secret and not has_stored_secret:
        needed = ("Enhanced authentication needs the client secret that goes with the client "
                  "ID: enter it, or clear the client ID.")
        errors["client_secret"] = needed
    if values.client_secret and not values.client_id:
        errors["client_id"] = ("A client secret needs its client ID (enhanced authentication): "
                               "enter the client ID, or leave the secret blank.")
    if values.client_secret_expires_on:
        try:
            date.fromisoformat(values.client_secret_expires_on)
        except ValueError:
            errors["client_secret_expires_on"] = (
                f"Client secret expires on '{values.client_secret_expires_on}' is not a date: "
                "use YYYY-MM-DD (e.g. 2027-03-31), or leave it blank.")
        else:
            if not values.client_id:
                alone = ("The client secret's expiry belongs to enhanced authentication: enter "
                         "the client ID and secret too, or leave the date blank.")
                errors["client_secret_expires_on"] = alone
    return errors


def add_connection(store: Store, account_name: str, values: ConnectionInput
                   ) -> ConnectionConfig:
    """Store a new connection of the account. :class:`Invalid` or :class:`NameTaken`: nothing
    stored."""
    values = values.cleaned()
    errors = check(values, current=None)
    if errors:
        raise Invalid(errors)
    try:
        return store.add_connection(NewConnection(
            name=values.name, account=account_name, ws_url=values.url,
            company_code=values.company_code, authorization_id=values.authorization_id,
            client_id=values.client_id,
            client_secret=values.client_secret if values.client_id else "",
            client_secret_expires_on=values.client_secret_expires_on, system=values.system,
            prefix=values.prefix, work_order_type=values.work_order_type,
            lead_source=values.lead_source, preserve_edits=values.preserve_edits))
    except AlreadyExists as exc:
        raise NameTaken(values.name) from exc


def update_connection(store: Store, current: ConnectionConfig, values: ConnectionInput
                      ) -> ConnectionConfig:
    """Change the account's connection: every setting, and each secret that was filled in
    (a blank one keeps the stored secret; clearing the client ID removes the client
    secret). :class:`Invalid` or :class:`NameTaken`: nothing changed."""
    values = values.cleaned()
    errors = check(values, current=current)
    if errors:
        raise Invalid(errors)
    client_secret: str | None = values.client_secret or None
    if not values.client_id:
        client_secret = ""  # no enhanced authentication: no secret left behind
    try:
        return store.update_account_connection(
            current.account_id, current.id, authorization_id=values.authorization_id or None,
            client_secret=client_secret, **values.settings())
    except AlreadyExists as exc:
        raise NameTaken(values.name) from exc


# -- automation rules --------------------------------------------------------------------------
TRIGGER_LABELS = {Trigger.ON_CREATE: "when a job is created",
                  Trigger.ON_STATUS: "when a job reaches a status",
                  Trigger.ON_TAG: "when a job carries a tag"}


def check_rule(trigger: str, value: str, job_type: str) -> tuple[Trigger, str, str]:
    """A rule as ``st-spectrum rule add`` takes it: one trigger, with the status or tag it
    needs. Raises :class:`Invalid` (by field) otherwise."""
    value, job_type = value.strip(), job_type.strip()
    try:
        chosen = Trigger(trigger)
    except ValueError:
        raise Invalid({"trigger": f"'{trigger}' is not a rule trigger: pick when a job is "
                                  "created, reaches a status, or carries a tag."}) from None
    errors: dict[str, str] = {}
    if chosen is Trigger.ON_CREATE:
        value = ""
    elif not value:
        what = "status (e.g. scheduled)" if chosen is Trigger.ON_STATUS else "tag name"
        errors["value"] = f"This rule needs the job {what} that sends the job: enter it."
    elif len(value) > _RULE_VALUE_MAX:
        errors["value"] = _too_long("The status or tag", value, _RULE_VALUE_MAX)
    if len(job_type) > _RULE_VALUE_MAX:
        errors["job_type"] = _too_long("Job type", job_type, _RULE_VALUE_MAX)
    if errors:
        raise Invalid(errors)
    return chosen, value, job_type


def rules_by_connection(rules: list[Rule]) -> dict[str, list[Rule]]:
    grouped: dict[str, list[Rule]] = {}
    for rule in rules:
        grouped.setdefault(rule.connection, []).append(rule)
    return grouped


# -- connection test ---------------------------------------------------------------------------
UNREACHABLE_FIX = ("Check the Web Services URL, and that the Spectrum server is reachable from "
                   "this server on its port (firewall, DNS, TLS certificate).")
AUTHENTICATION_FIX = ("Edit the connection and re-enter the client ID and client secret (the "
                      "secret may have expired), or the Authorization ID.")


@dataclass(frozen=True)
class ConnectionTest:
    """What ``st-spectrum connection test`` reports, for a page or the API."""

    connection: str
    reachable: bool
    credentials_accepted: bool | None
    """None when Spectrum did not answer (so they could not be checked)."""
    authorized: dict[str, bool]
    problems: list[str]
    """Spectrum's own words (or the network's), secrets removed."""
    ok: bool
    fix: str

    @property
    def work_order_header(self) -> bool | None:
        return self.authorized.get("WorkOrderHeader")


def run_test(clients: ClientPool, connection: ConnectionConfig) -> ConnectionTest:
    """The check ``connection test`` runs: nothing is created or changed in Spectrum.
    Blocks on the network (with the usual retries): call it from a worker thread."""
    check = clients.spectrum(connection).check_connection()
    if not check.reachable:
        fix = UNREACHABLE_FIX
    elif not check.authenticated:
        fix = AUTHENTICATION_FIX
    elif not check.ok:
        fix = NOT_AUTHORIZED_FIX
    else:
        fix = ""
    return ConnectionTest(
        connection=connection.name, reachable=check.reachable,
        credentials_accepted=check.authenticated if check.reachable else None,
        authorized=dict(check.authorized),
        problems=[connection.redact(problem, "(secret removed)") for problem in check.problems],
        ok=check.ok, fix=fix)


def expiry_note(expires_on: str, today: date | None = None) -> tuple[str, str]:
    """(words, css class) about a client secret's expiry date, so an admin renews it before
    sends start failing with "authentication failed"."""
    if not expires_on:
        return "", ""
    try:
        when = date.fromisoformat(expires_on)
    except ValueError:
        return expires_on, ""
    days = (when - (today or date.today())).days
    if days < 0:
        return (f"{expires_on} — expired: enter a new client secret (edit the connection)",
                "bad")
    if days <= 30:
        return f"{expires_on} — expires in {days} day(s): renew it in Spectrum soon", "warn"
    return expires_on, ""
