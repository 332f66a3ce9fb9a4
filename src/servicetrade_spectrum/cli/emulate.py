"""``st-spectrum emulate``: run an emulator of Spectrum or ServiceTrade over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="Run an emulator of Spectrum or ServiceTrade for tests and demos.",
                  no_args_is_help=True)

_Port = Annotated[int, typer.Option(help="TCP port to listen on.")]
_Host = Annotated[str, typer.Option(help="Address to listen on.")]
_Data = Annotated[Path | None, typer.Option(
    help="JSON file with the emulator's state (default: the built-in seed).",
    exists=True, dir_okay=False)]
_Latency = Annotated[float, typer.Option(
    "--latency-ms", help="Delay every answer by this many milliseconds.")]


@app.command("spectrum")
def spectrum(
    port: _Port = 8482,
    host: _Host = "127.0.0.1",
    data: _Data = None,
    latency_ms: _Latency = 0.0,
    enhanced_auth: Annotated[bool, typer.Option(
        help="Require an OAuth2 Bearer token from /connect/token on every call.")] = False,
) -> None:
    """Serve Spectrum's Data Exchange web services at http://HOST:PORT/ws/{Service}."""
    from servicetrade_spectrum.emulators.spectrum import run_spectrum_emulator

    run_spectrum_emulator(host=host, port=port, data=data, latency_ms=latency_ms,
                          enhanced_auth=enhanced_auth)


@app.command("servicetrade")
def servicetrade(
    port: _Port = 8480,
    host: _Host = "127.0.0.1",
    data: _Data = None,
    latency_ms: _Latency = 0.0,
) -> None:
    """Serve ServiceTrade's REST API at http://HOST:PORT/api."""
    from servicetrade_spectrum.emulators.servicetrade import run_servicetrade_emulator

    run_servicetrade_emulator(host=host, port=port, data=data, latency_ms=latency_ms)
