"""``st-spectrum user`` and ``st-spectrum token``: who may sign in to the web app and call
the REST API."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from servicetrade_spectrum.cli._context import app_context, fail, read_secret, stdout

__all__ = ["token_app", "user_app"]

user_app = typer.Typer(help="Manage web app users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage personal REST API tokens.", no_args_is_help=True)


@user_app.command("add")
def add_user(
    email: Annotated[str, typer.Argument(help="The user's email (their sign-in name).")],
    account: Annotated[str, typer.Option(help="The account whose data they see.")],
    admin: Annotated[bool, typer.Option("--admin", help="May manage connections and users."
                                        )] = False,
) -> None:
    """Add a user (password from ST_SPECTRUM_USER_PASSWORD or a prompt)."""
    password = read_secret("ST_SPECTRUM_USER_PASSWORD", f"Password for {email}")
    with app_context() as ctx:
        account_id = ctx.store.account(account).id
        try:
            user = ctx.store.users.add(email, account_id=account_id, password=password,
                                       is_admin=admin)
        except ValueError as exc:
            fail(str(exc))
    role = "an admin" if user.is_admin else "a user"
    stdout.print(f"User {user.email} added as {role} of account '{account}'.", markup=False)


@user_app.command("list")
def list_users(
    account: Annotated[str, typer.Option(help="Only this account's users.")],
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List an account's users."""
    with app_context() as ctx:
        users = ctx.store.users.of_account(ctx.store.account(account).id)
    rows = [{"email": u.email, "account": u.account_name, "admin": u.is_admin} for u in users]
    if json_output:
        typer.echo(json.dumps(rows))
        return
    table = Table("email", "account", "admin")
    for row in rows:
        table.add_row(str(row["email"]), str(row["account"]), "yes" if row["admin"] else "")
    stdout.print(table)


@user_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="The user's email.")],
) -> None:
    """Set a user's password (from ST_SPECTRUM_USER_PASSWORD or a prompt); signs them out."""
    password = read_secret("ST_SPECTRUM_USER_PASSWORD", f"New password for {email}")
    with app_context() as ctx:
        user = ctx.store.users.by_email(email)
        if user is None:
            fail(f"No user {email}. Add one with 'st-spectrum user add'.")
        try:
            ctx.store.users.set_password(user.id, password)
        except ValueError as exc:
            fail(str(exc))
    stdout.print(f"Password of {user.email} changed; their browser sessions were ended.",
                 markup=False)


@user_app.command("link")
def sign_in_link(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    base_url: Annotated[str, typer.Option(help="Where the web app is served.")
                        ] = "http://127.0.0.1:8400",
    minutes: Annotated[int, typer.Option(min=1, max=24 * 60,
                                         help="How long the link stays good.")] = 15,
) -> None:
    """Print a one-time sign-in link for a user (first sign-in, or a forgotten password)."""
    from datetime import timedelta

    with app_context() as ctx:
        user = ctx.store.users.by_email(email)
        if user is None:
            fail(f"No user {email}. Add one with 'st-spectrum user add'.")
        token = ctx.store.users.create_sign_in_link(user.id, timedelta(minutes=minutes))
    typer.echo(f"{base_url.rstrip('/')}/login/link/{token}")


@token_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", help="The email of the token's owner.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Make a personal API token. It is printed once, on stdout alone; keep it safe."""
    with app_context() as ctx:
        owner = ctx.store.users.by_email(user)
        if owner is None:
            fail(f"No user {user}. Add one with 'st-spectrum user add'.")
        token = ctx.store.users.create_token(owner.id, name)
    typer.echo(token)
