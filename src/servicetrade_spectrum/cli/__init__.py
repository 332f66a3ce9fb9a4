"""The ``st-spectrum`` command line (Typer). Each command group lives in its own module."""

from __future__ import annotations

import typer

from servicetrade_spectrum import __version__
from servicetrade_spectrum.cli import account, connection, emulate, rule, webhook
from servicetrade_spectrum.cli.bulk import bulk_send, retry_failed
from servicetrade_spectrum.cli.demo_command import demo
from servicetrade_spectrum.cli.send import history, send
from servicetrade_spectrum.cli.serve import serve, worker
from servicetrade_spectrum.cli.user import token_app, user_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="st-spectrum",
    help="Send ServiceTrade jobs to Trimble Spectrum as work orders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(account.app, name="account")
app.add_typer(connection.app, name="connection")
app.command()(send)
app.command()(history)
app.command("bulk-send")(bulk_send)
app.command("retry-failed")(retry_failed)
app.command()(serve)
app.command()(worker)
app.command()(demo)
app.add_typer(rule.app, name="rule")
app.add_typer(webhook.app, name="webhook")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(emulate.app, name="emulate")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
