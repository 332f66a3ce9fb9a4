"""``st-spectrum webhook``: have ServiceTrade tell st-spectrum when jobs change."""

from __future__ import annotations

from typing import Annotated

import typer

from servicetrade_spectrum.cli._context import app_context, fail, stdout

__all__ = ["app"]

app = typer.Typer(help="Manage the ServiceTrade webhook.", no_args_is_help=True)


@app.command("register")
def register(
    account: Annotated[str, typer.Option(help="The ServiceTrade account.")],
    public_url: Annotated[str, typer.Option(
        help="Where ServiceTrade reaches this server, e.g. https://st-spectrum.example.com")],
) -> None:
    """Register a job webhook whose URL carries a new unguessable secret.

    Registering again replaces the secret (and the old webhook), which revokes a leaked URL.
    """
    if not public_url.startswith(("http://", "https://")):
        fail(f"--public-url '{public_url}' must start with http:// or https://.")
    from servicetrade_spectrum.servicetrade import ServiceTradeError
    from servicetrade_spectrum.sync import register_webhook

    with app_context() as ctx:
        try:
            hook = register_webhook(ctx.store, ctx.clients, account, public_url)
        except ServiceTradeError as exc:
            fail(f"ServiceTrade refused the webhook: {exc}", 1)
    masked = hook.hook_url.rsplit("/", 1)[0] + "/<secret>"
    stdout.print(f"Webhook {hook.webhook_id} registered for account '{account}': ServiceTrade "
                 f"will POST job events to {masked}. 'st-spectrum serve' must be reachable "
                 "there.", markup=False)
