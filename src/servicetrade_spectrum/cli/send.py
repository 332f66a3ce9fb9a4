"""``st-spectrum send`` and ``st-spectrum history``."""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from servicetrade_spectrum.cli._context import EXIT_FAILED, app_context, fail, stdout

if TYPE_CHECKING:
    from servicetrade_spectrum.sync import SendResult

__all__ = ["history", "send"]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return ""


def _print_result(result: SendResult) -> None:
    if result.status == "preview":
        head = (f"Preview of {result.job_label} on connection '{result.connection}': "
                f"work order {result.work_order_number}")
        stdout.print(head + (" (nothing sent)" if result.failure is None
                             else " cannot be sent:"), markup=False)
        for element, value in result.fields.items():
            stdout.print(f"  {element:<20} {value}", markup=False)
    elif result.status == "sent":
        stdout.print(f"Sent {result.job_label} to Spectrum ('{result.connection}'): work "
                     f"order {result.work_order_number}", markup=False)
    else:
        stdout.print(f"Send of {result.job_label} to Spectrum ('{result.connection}') failed.",
                     markup=False)
    for warning in result.warnings:
        stdout.print(f"Warning: {warning}", markup=False)
    if result.failure is not None:
        failure = result.failure
        stdout.print(f"{failure.kind.label} ({failure.kind.value}): {failure.message}",
                     markup=False)
        stdout.print(f"Fix: {failure.fix}", markup=False)


def send(
    job_id: Annotated[int, typer.Argument(help="ServiceTrade's job ID (not the job number).")],
    connection: Annotated[str, typer.Option(help="The Spectrum connection to send to.")],
    preview: Annotated[bool, typer.Option("--preview",
                                          help="Show what would be sent; send nothing.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send a job to Spectrum as a work order (exit 0 sent, 1 failed, 2 usage error)."""
    with app_context() as ctx:
        try:
            result = (ctx.sender.preview(job_id, connection) if preview
                      else ctx.send_durably(job_id, connection, trigger="cli",
                                            triggered_by=_os_user()))
        except TimeoutError as exc:
            fail(str(exc), EXIT_FAILED)
    if json_output:
        typer.echo(json.dumps(result.to_json()))
    else:
        _print_result(result)
    if result.status == "failed":
        raise typer.Exit(EXIT_FAILED)


def history(
    job: Annotated[int | None, typer.Option("--job", help="Only this job ID.")] = None,
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many attempts.")] = 50,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List send attempts, newest first."""
    with app_context() as ctx:
        connection_id = ctx.store.connection(connection).id if connection else None
        attempts = ctx.store.history(job_id=job, connection_id=connection_id, limit=limit)
        paused = [c for c in ctx.store.connections()
                  if c.paused and (connection is None or c.name == connection)]
    if json_output:
        typer.echo(json.dumps([a.summary() for a in attempts]))
        return
    for c in paused:
        stdout.print(f"Connection '{c.name}' is paused: {c.pause_reason}", markup=False)
    table = Table("time (UTC)", "job", "connection", "status", "work order", "failure",
                  "Spectrum said")
    for a in attempts:
        table.add_row(a.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                      f"{a.job_number or '?'} ({a.job_id})", a.connection, a.status,
                      a.work_order_number, a.failure_kind,
                      a.spectrum_message if a.status == "failed" else "")
    stdout.print(table)
