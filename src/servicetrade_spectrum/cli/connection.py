"""``st-spectrum connection``: the Spectrum instances an account sends to."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from servicetrade_spectrum.cli._context import (
    EXIT_FAILED,
    app_context,
    fail,
    read_secret,
    stdout,
)
from servicetrade_spectrum.domain.connection_settings import LEADING_CHARACTER, SYSTEM_NAME
from servicetrade_spectrum.spectrum._layouts import WORK_ORDER_HEADER

__all__ = ["app"]

app = typer.Typer(help="Manage Spectrum connections.", no_args_is_help=True)


def _check_length(option: str, value: str, element: str) -> None:
    limit = WORK_ORDER_HEADER.max_length(element)
    if len(value) > limit:
        fail(f"{option} '{value}' is {len(value)} characters; Spectrum's {element} accepts "
             f"at most {limit}.")


def validate_connection_settings(*, url: str, company_code: str, prefix: str, system: str,
                                 work_order_type: str, lead_source: str) -> str:
    """Check what a user typed; return the normalized Web Services URL."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")) or not url.endswith("/ws"):
        fail(f"--url '{url}' must be Spectrum's Web Services URL, starting with http:// or "
             "https:// and ending in /ws (e.g. https://spectrum.example.com:8482/ws).")
    if not company_code.strip():
        fail("--company-code is required (Spectrum company codes are 1 to 3 characters).")
    _check_length("--company-code", company_code, "Company_Code")
    if prefix and not LEADING_CHARACTER.match(prefix):
        fail(f"--prefix '{prefix}' must be one letter or digit (or left out).")
    if not SYSTEM_NAME.match(system):
        fail(f"--system '{system}' must start with a lower-case letter and hold only lower-case "
             "letters, digits and underscores (e.g. spectrum).")
    _check_length("--work-order-type", work_order_type, "WO_Job_Division")
    _check_length("--lead-source", lead_source, "Lead_Source")
    return url


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The name users pick the connection by.")],
    account: Annotated[str, typer.Option(help="The ServiceTrade account it belongs to.")],
    url: Annotated[str, typer.Option(help="Web Services URL, e.g. https://host:8482/ws.")],
    company_code: Annotated[str, typer.Option(help="Spectrum company code.")],
    prefix: Annotated[str, typer.Option(help="Leading character of work order numbers.")] = "",
    work_order_type: Annotated[str, typer.Option(help="Default work order type code.")] = "",
    lead_source: Annotated[str, typer.Option(help="Lead source code.")] = "",
    system: Annotated[str, typer.Option(
        help="ServiceTrade external system holding this connection's mappings.")] = "spectrum",
    client_id: Annotated[str, typer.Option(
        help="Enhanced authentication client ID (secret from ST_SPECTRUM_CLIENT_SECRET).")
    ] = "",
    preserve_edits: Annotated[bool, typer.Option(
        "--preserve-edits", help="Re-sends send only fields changed in ServiceTrade.")] = False,
) -> None:
    """Add a Spectrum connection (Authorization ID from ST_SPECTRUM_AUTHORIZATION_ID)."""
    url = validate_connection_settings(url=url, company_code=company_code, prefix=prefix,
                                       system=system, work_order_type=work_order_type,
                                       lead_source=lead_source)
    authorization_id = read_secret("ST_SPECTRUM_AUTHORIZATION_ID", "Spectrum Authorization ID")
    _check_length("The Authorization ID", authorization_id, "Authorization_ID")
    client_secret = (read_secret("ST_SPECTRUM_CLIENT_SECRET", "Spectrum client secret")
                     if client_id else "")
    from servicetrade_spectrum.store import AlreadyExists, NewConnection

    with app_context() as ctx:
        ctx.store.account(account)  # unknown account: message and exit 2, nothing stored
        try:
            ctx.store.add_connection(NewConnection(
                name=name, account=account, ws_url=url, company_code=company_code,
                authorization_id=authorization_id, client_id=client_id,
                client_secret=client_secret, system=system, prefix=prefix,
                work_order_type=work_order_type, lead_source=lead_source,
                preserve_edits=preserve_edits))
        except AlreadyExists as exc:
            fail(str(exc))
    stdout.print(f"Connection '{name}' added: jobs of account '{account}' are sent to {url} "
                 f"(company {company_code}). Check it with 'st-spectrum connection test {name}'.",
                 markup=False)


@app.command("list")
def list_connections(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List connections and their settings (never their secrets)."""
    with app_context() as ctx:
        connections = [c.public() for c in ctx.store.connections()]
    if json_output:
        typer.echo(json.dumps(connections))
        return
    table = Table("name", "account", "URL", "company", "system", "prefix", "type", "lead source",
                  "preserve edits", "state")
    for c in connections:
        state = f"paused: {c['pause_reason']}" if c["paused"] else "active"
        table.add_row(c["name"], c["account"], c["url"], c["company_code"], c["system"],
                      c["prefix"], c["work_order_type"], c["lead_source"],
                      "yes" if c["preserve_edits"] else "no", state)
    stdout.print(table)


@app.command("test")
def test(name: Annotated[str, typer.Argument(help="The connection to test.")]) -> None:
    """Check that Spectrum answers, accepts the credentials and authorizes WorkOrderHeader.

    Nothing is created or changed in Spectrum. Exit 0 when sends can work, 1 otherwise.
    """
    from servicetrade_spectrum.sync._connection_settings import run_test

    with app_context() as ctx:
        connection = ctx.store.connection(name)
        check = run_test(ctx.clients, connection)

    def mark(ok: bool) -> str:
        return "ok" if ok else "FAILED"

    stdout.print(f"Connection '{name}' ({connection.ws_url}, company "
                 f"{connection.company_code}):", markup=False)
    stdout.print(f"  Spectrum answers:         {mark(check.reachable)}", markup=False)
    if check.reachable:
        stdout.print(f"  credentials accepted:     {mark(bool(check.credentials_accepted))}",
                     markup=False)
    for service, authorized in check.authorized.items():
        stdout.print(f"  {service} authorized: {mark(authorized)}", markup=False)
    for problem in check.problems:
        stdout.print(f"  - {problem}", markup=False)
    if not check.ok:
        if check.reachable and check.credentials_accepted:
            stdout.print(f"  Fix: {check.fix}", markup=False)
        raise typer.Exit(EXIT_FAILED)
    stdout.print("Sends can work.", markup=False)


@app.command("pause")
def pause(name: Annotated[str, typer.Argument(help="The connection to pause.")],
          reason: Annotated[str, typer.Option(help="Why, shown in lists.")] = "paused by hand"
          ) -> None:
    """Stop sending on a connection until it is resumed."""
    with app_context() as ctx:
        ctx.store.update_connection(name, paused=True, pause_reason=reason)
    stdout.print(f"Connection '{name}' paused: nothing is sent until "
                 f"'st-spectrum connection resume {name}'.", markup=False)


@app.command("resume")
def resume(name: Annotated[str, typer.Argument(help="The connection to resume.")]) -> None:
    """Send on a paused connection again."""
    with app_context() as ctx:
        ctx.store.update_connection(name, paused=False, pause_reason="")
    stdout.print(f"Connection '{name}' resumed.", markup=False)
