"""What every command needs: settings, the store, the services, and one way to fail.

Exit codes (the command-line contract): 0 done, 1 the operation failed (a send, a connection
test), 2 usage or configuration error (unknown connection, account or job, bad option, a
secret key that cannot decrypt).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:  # imported when a command runs, so that --help and usage errors are fast
    from servicetrade_spectrum.config import Settings
    from servicetrade_spectrum.store import Store
    from servicetrade_spectrum.sync import SendResult

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "AppContext", "app_context", "fail", "read_secret"]

EXIT_FAILED = 1
EXIT_USAGE = 2

# Piped output is not squeezed to 80 columns: tables stay readable in logs and pagers.
stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, highlight=False, soft_wrap=True,
                 width=None if sys.stderr.isatty() else 200)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    stderr.print(f"Error: {message}", markup=False)
    raise typer.Exit(code)


def read_secret(variable: str, prompt: str) -> str:
    """A secret from its environment variable, or a hidden prompt; never from argv."""
    value = os.environ.get(variable)
    if value:
        return value
    if not sys.stdin.isatty():
        fail(f"{prompt} is needed: set {variable} (it is never taken on the command line).")
    return str(typer.prompt(prompt, hide_input=True))


class AppContext:
    def __init__(self, settings: Settings, store: Store) -> None:
        from servicetrade_spectrum.sync import ClientPool, SendService

        self.settings = settings
        self.store = store
        self.clients = ClientPool.sharing_spectrum_slots(settings, store)
        self.sender = SendService(store, self.clients)

    def send_durably(self, job_id: int, connection_name: str, *, trigger: str,
                     triggered_by: str) -> SendResult:
        """Queue the send and wait for its result. With a ``serve`` or ``worker`` alive on
        this database it does the send; otherwise this process runs the queue meanwhile."""
        from servicetrade_spectrum.sync import SendRequest
        from servicetrade_spectrum.workflows import DurableRuntime, SendQueue, server_running

        connection = self.sender.active_connection(connection_name)
        request = SendRequest(job_id, connection.name, trigger, triggered_by)
        runtime = None
        if not server_running(self.store, self.settings):
            runtime = DurableRuntime(self.settings, self.store, self.sender,
                                     role="embedded").start()
        queue = SendQueue(self.settings)
        try:
            return queue.result(queue.enqueue(request, connection.id))
        finally:
            queue.close()
            if runtime is not None:
                runtime.stop()

    def close(self) -> None:
        self.clients.close()
        self.store.close()


@contextlib.contextmanager
def app_context() -> Iterator[AppContext]:
    """Open settings and store; turn configuration problems into a message and exit 2."""
    from servicetrade_spectrum.config import Settings
    from servicetrade_spectrum.logs import configure_logging
    from servicetrade_spectrum.store import NotFound as StoreNotFound
    from servicetrade_spectrum.store import SecretKeyMismatch, Store
    from servicetrade_spectrum.sync import SyncError

    try:
        settings = Settings()
    except ValueError as exc:
        fail(f"invalid configuration: {exc}")
    configure_logging(settings.log_level or "WARNING", settings.log_format)
    try:
        store = Store.open(settings)
    except SecretKeyMismatch as exc:
        fail(str(exc))
    context = AppContext(settings, store)
    try:
        yield context
    except SecretKeyMismatch as exc:
        fail(str(exc))
    except (StoreNotFound, SyncError) as exc:
        fail(str(exc))
    finally:
        context.close()
