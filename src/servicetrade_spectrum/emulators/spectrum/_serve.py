"""``st-spectrum emulate spectrum``: serve the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from servicetrade_spectrum.emulators.spectrum._emulator import SpectrumEmulator
from servicetrade_spectrum.serving import listening_socket

__all__ = ["run_spectrum_emulator"]


def run_spectrum_emulator(*, host: str = "127.0.0.1", port: int = 8482,
                          data: str | Path | None = None, latency_ms: float = 0.0,
                          enhanced_auth: bool = False) -> None:
    """Serve Spectrum's web services at ``http://HOST:PORT/ws`` (``data``: a state JSON file).

    The socket is bound before the address is printed, so a script that waits for the line
    can connect at once (and ``port=0`` prints the port actually chosen).
    """
    options = {"latency_ms": latency_ms, "enhanced_auth": enhanced_auth}
    emu = (SpectrumEmulator.from_file(data, **options) if data is not None
           else SpectrumEmulator.from_seed(**options))
    sock = listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Spectrum emulator: Web Services URL http://{shown_host}:{bound_port}/ws", flush=True)
    config = uvicorn.Config(emu.app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
