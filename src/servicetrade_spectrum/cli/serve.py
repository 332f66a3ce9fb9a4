"""``st-spectrum serve`` (web app and send workers in one process) and ``st-spectrum worker``
(send workers only; several on several machines share a PostgreSQL database)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from servicetrade_spectrum.cli._context import app_context, stdout

__all__ = ["serve", "worker"]


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8400,
) -> None:
    """Run the web app (webhooks) with the send workers and the automation."""
    import uvicorn

    from servicetrade_spectrum.logs import configure_logging
    from servicetrade_spectrum.serving import listening_socket
    from servicetrade_spectrum.web import WebServices, create_app
    from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
    from servicetrade_spectrum.workflows._automation_loop import AutomationLoop

    with app_context() as ctx:
        configure_logging(ctx.settings.log_level or "INFO", ctx.settings.log_format)
        runtime = DurableRuntime(ctx.settings, ctx.store, ctx.sender, role="serve").start()
        queue = SendQueue(ctx.settings)
        automation = AutomationLoop(ctx.settings, ctx.store, ctx.clients, queue).start()
        sock = listening_socket(host, port)
        bound = sock.getsockname()[1]
        try:
            app = create_app(WebServices(ctx.settings, ctx.store, ctx.clients, ctx.sender,
                                         queue=queue, wake=automation.wake))
            stdout.print(f"st-spectrum serving on http://{host}:{bound} (sign in at /login; "
                         f"REST API docs at /docs; webhooks at /hooks/servicetrade/<secret>); "
                         f"send workers running.", markup=False)
            config = uvicorn.Config(app, log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=5)
            uvicorn.Server(config).run(sockets=[sock])  # returns on SIGINT / SIGTERM
        finally:
            sock.close()
            automation.stop()
            queue.close()
            runtime.stop()


def worker() -> None:
    """Run send workers only, until SIGINT or SIGTERM."""
    from servicetrade_spectrum.logs import configure_logging
    from servicetrade_spectrum.workflows import DurableRuntime

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with app_context() as ctx:
        configure_logging(ctx.settings.log_level or "INFO", ctx.settings.log_format)
        runtime = DurableRuntime(ctx.settings, ctx.store, ctx.sender, role="worker").start()
        stdout.print(f"st-spectrum worker {runtime.executor_id}: running sends until stopped.",
                     markup=False)
        try:
            stop.wait()
        finally:
            runtime.stop()
