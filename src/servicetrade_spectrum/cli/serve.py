"""``st-spectrum serve`` (web app and send workers in one process) and ``st-spectrum worker``
(send workers only; several on several machines share a PostgreSQL database).

``serve --web-only`` with ``worker --automation`` splits the two: the web process then only
answers (pages, API, webhook acknowledgements) and never competes for its CPU with sends or
with reading the jobs of webhook messages (measured in bench/webhook_intake.py)."""

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
    web_only: Annotated[bool, typer.Option(
        "--web-only", help="Serve the web app only; run the sends and the automation in "
        "'st-spectrum worker --automation' processes.")] = False,
) -> None:
    """Run the web app (pages, REST API, webhooks) with the send workers and the automation."""
    import uvicorn

    from servicetrade_spectrum.logs import configure_logging
    from servicetrade_spectrum.serving import listening_socket
    from servicetrade_spectrum.web import WebServices, create_app
    from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
    from servicetrade_spectrum.workflows._automation_loop import AutomationLoop

    with app_context() as ctx:
        configure_logging(ctx.settings.log_level or "INFO", ctx.settings.log_format)
        runtime = (None if web_only else
                   DurableRuntime(ctx.settings, ctx.store, ctx.sender, role="serve").start())
        queue = SendQueue(ctx.settings)
        automation = (None if web_only else
                      AutomationLoop(ctx.settings, ctx.store, ctx.clients, queue).start())
        sock = listening_socket(host, port)
        bound = sock.getsockname()[1]
        try:
            app = create_app(WebServices(
                ctx.settings, ctx.store, ctx.clients, ctx.sender, queue=queue,
                wake=automation.wake if automation else lambda: None))
            running = ("web app only: sends and automation run in 'st-spectrum worker "
                       "--automation'" if web_only else "send workers running")
            stdout.print(f"st-spectrum serving on http://{host}:{bound} (sign in at /login; "
                         f"REST API docs at /docs; webhooks at /hooks/servicetrade/<secret>); "
                         f"{running}.", markup=False)
            config = uvicorn.Config(app, log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=5)
            uvicorn.Server(config).run(sockets=[sock])  # returns on SIGINT / SIGTERM
        finally:
            sock.close()
            if automation is not None:
                automation.stop()
            queue.close()
            if runtime is not None:
                runtime.stop()


def worker(
    automation: Annotated[bool, typer.Option(
        "--automation", help="Also process webhook messages and run the polling sweep (for "
        "'serve --web-only'; run it in one worker).")] = False,
) -> None:
    """Run send workers, until SIGINT or SIGTERM."""
    from servicetrade_spectrum.logs import configure_logging
    from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
    from servicetrade_spectrum.workflows._automation_loop import (
        WORKER_RECHECK_SECONDS,
        AutomationLoop,
    )

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with app_context() as ctx:
        configure_logging(ctx.settings.log_level or "INFO", ctx.settings.log_format)
        runtime = DurableRuntime(ctx.settings, ctx.store, ctx.sender, role="worker").start()
        queue = SendQueue(ctx.settings) if automation else None
        loop = (AutomationLoop(ctx.settings, ctx.store, ctx.clients, queue,
                               recheck_seconds=WORKER_RECHECK_SECONDS).start()
                if queue is not None else None)
        also = " and the automation" if loop else ""
        stdout.print(f"st-spectrum worker {runtime.executor_id}: running sends{also} until "
                     "stopped.", markup=False)
        try:
            stop.wait()
        finally:
            if loop is not None:
                loop.stop()
            if queue is not None:
                queue.close()
            runtime.stop()
