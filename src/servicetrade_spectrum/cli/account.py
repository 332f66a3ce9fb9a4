"""``st-spectrum account``: the ServiceTrade account whose jobs are sent."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from servicetrade_spectrum.cli._context import app_context, fail, read_secret, stdout

__all__ = ["app"]

app = typer.Typer(help="Manage ServiceTrade accounts.", no_args_is_help=True)


def check_servicetrade_url(url: str) -> str:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")) or not url.endswith("/api"):
        fail(f"--servicetrade-url '{url}' must be ServiceTrade's API root, starting with "
             "http:// or https:// and ending in /api (e.g. https://api.servicetrade.com/api).")
    return url


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for this account.")],
    servicetrade_url: Annotated[str, typer.Option(help="The API root, ending in /api.")],
    username: Annotated[str | None, typer.Option(
        help="Session login (password from ST_SPECTRUM_SERVICETRADE_PASSWORD or a prompt).")
    ] = None,
    client_id: Annotated[str | None, typer.Option(
        help="OAuth client (secret from ST_SPECTRUM_SERVICETRADE_CLIENT_SECRET or a prompt).")
    ] = None,
) -> None:
    """Add a ServiceTrade account (session login or OAuth client credentials)."""
    if bool(username) == bool(client_id):
        fail("give exactly one of --username (session login) or --client-id (OAuth).")
    url = check_servicetrade_url(servicetrade_url)
    if username:
        secret = read_secret("ST_SPECTRUM_SERVICETRADE_PASSWORD", "ServiceTrade password")
    else:
        secret = read_secret("ST_SPECTRUM_SERVICETRADE_CLIENT_SECRET",
                             "ServiceTrade OAuth client secret")
    from servicetrade_spectrum.store import AlreadyExists

    with app_context() as ctx:
        try:
            ctx.store.add_account(name, url, auth_kind="session" if username else "oauth",
                                  secret=secret, username=username or "",
                                  client_id=client_id or "")
        except AlreadyExists as exc:
            fail(str(exc))
    stdout.print(f"Account '{name}' added ({url}).", markup=False)


@app.command("list")
def list_accounts(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List accounts (never their secrets)."""
    with app_context() as ctx:
        accounts = ctx.store.accounts()
    rows = [{"name": a.name, "servicetrade_url": a.servicetrade_url, "auth": a.auth_kind,
             "login": a.username or a.client_id} for a in accounts]
    if json_output:
        typer.echo(json.dumps(rows))
        return
    table = Table("name", "ServiceTrade URL", "auth", "login")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    stdout.print(table)
