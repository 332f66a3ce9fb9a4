"""``st-spectrum demo``'s options; the demo itself (emulators and all) loads when it runs."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["demo"]


def demo(
    no_wait: Annotated[bool, typer.Option(
        "--no-wait", help="Exit after the sends instead of staying up until Ctrl-C.")] = False,
    spectrum_port: Annotated[int, typer.Option(help="Port of the Spectrum emulator.")] = 8482,
    servicetrade_port: Annotated[int, typer.Option(
        help="Port of the ServiceTrade emulator.")] = 8480,
    web_port: Annotated[int, typer.Option(help="Port of st-spectrum's web app.")] = 8400,
    open_browser: Annotated[bool, typer.Option(
        "--open/--no-open", help="Open the web app, signed in, in a browser (when there is "
        "a screen).")] = True,
) -> None:
    """Run the product against both emulators, with seed data, in a demo home."""
    from servicetrade_spectrum.cli.demo import run_demo

    run_demo(no_wait=no_wait, spectrum_port=spectrum_port, servicetrade_port=servicetrade_port,
             web_port=web_port, open_browser=open_browser)
