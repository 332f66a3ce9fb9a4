"""``st-spectrum bulk-send`` and ``st-spectrum retry-failed``: many sends, followed to the end.

Both queue their sends on the connection's durable queue in one pass and follow them with a
progress bar on stderr. With no ``serve`` or ``worker`` running, this process does the sends
itself. Ctrl-C (or SIGTERM) stops queueing, lets the sends under way finish for a few
seconds, and prints what finished; running the same ``bulk-send`` again resumes that run: a
job whose send finished is not sent again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from servicetrade_spectrum.cli._context import EXIT_FAILED, app_context, fail, stderr, stdout
from servicetrade_spectrum.cli.send import _os_user

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from servicetrade_spectrum.cli._context import AppContext
    from servicetrade_spectrum.store import ConnectionConfig
    from servicetrade_spectrum.workflows._bulk import BulkReport, JobOutcome

__all__ = ["bulk_send", "read_job_ids", "retry_failed", "selection_key"]

DRAIN_SECONDS = 5
"""After Ctrl-C, how long the sends under way may take to finish (the command then stops
well within 15 s)."""


def read_job_ids(path: Path) -> list[int]:
    """Job IDs, one a line; blank lines and ``#`` comments ignored; duplicates once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the job IDs file {path}: {exc}")
    ids: dict[int, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if not value.isdigit() or int(value) == 0:
            fail(f"{path}, line {number}: '{value}' is not a job ID. List ServiceTrade job IDs "
                 "(the number in the job's address), one per line; '#' starts a comment.")
        ids[int(value)] = None
    return list(ids)


def selection_key(connection: str, statuses: list[str], since: str | None,
                  job_ids: list[int] | None) -> str:
    """The same connection and selection give the same key: an unfinished run of it is
    resumed."""
    described = {"connection": connection, "status": sorted(statuses), "since": since,
                 "job_ids": sorted(job_ids) if job_ids is not None else None}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGINT or SIGTERM; a second Ctrl-C interrupts at once."""
    stop = threading.Event()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set():
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stderr.print(f"Stopping: no more sends are queued; sends under way may finish for up "
                     f"to {DRAIN_SECONDS} s.", markup=False)

    for signum in previous:
        signal.signal(signum, handle)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Bar:
    """The progress bar on stderr: sent, failed, remaining."""

    def __init__(self, description: str, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.total = total
        self.sent = self.failed = 0
        self.progress: Progress = Progress(
            TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.fields[sent]} sent, {task.fields[failed]} failed, "
                       "{task.fields[remaining]} remaining"),
            TimeElapsedColumn(), console=stderr, transient=False)
        self.task: TaskID = self.progress.add_task(description, total=total, sent=0, failed=0,
                                                   remaining=total)

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def add(self, outcome: JobOutcome) -> None:
        if outcome.status == "sent":
            self.sent += 1
        else:
            self.failed += 1
        done = self.sent + self.failed
        self.progress.update(self.task, completed=done, sent=self.sent, failed=self.failed,
                             remaining=self.total - done)


def _failure_json(outcome: JobOutcome) -> dict[str, Any]:
    return {"job_id": outcome.job_id, "kind": outcome.kind, "message": outcome.message}


def _print_failures(outcomes: list[JobOutcome]) -> None:
    for outcome in outcomes:
        stdout.print(f"  {outcome.label}: {outcome.kind}: {outcome.message}", markup=False)
        if outcome.fix:
            stdout.print(f"    Fix: {outcome.fix}", markup=False)


def _send_all(ctx: AppContext, connection: ConnectionConfig, job_ids: list[int], *,
              id_prefix: str, trigger: str, description: str, stop: threading.Event,
              follow: bool = True) -> BulkReport:
    from servicetrade_spectrum.workflows._bulk import BulkSender

    bulk = BulkSender(ctx.settings, ctx.store, ctx.sender, connection, trigger=trigger,
                      triggered_by=_os_user())
    with _Bar(description, len(job_ids)) as bar:
        return bulk.run(job_ids, id_prefix=id_prefix, stop=stop, on_outcome=bar.add,
                        drain_seconds=DRAIN_SECONDS, follow=follow)


def _select(ctx: AppContext, connection: ConnectionConfig, statuses: list[str],
            since: datetime | None, listed: list[int] | None) -> tuple[list[int], list[int]]:
    """(job IDs to send, listed job IDs ServiceTrade does not have)."""
    from servicetrade_spectrum.servicetrade import ServiceTradeError

    client = ctx.clients.servicetrade(ctx.store.account_by_id(connection.account_id))
    # ServiceTrade's filter is "updated after": a day starts one second after the one before.
    updated_after = int(since.replace(tzinfo=UTC).timestamp()) - 1 if since else None
    try:
        jobs = list(client.search_jobs(status=statuses or None, updated_after=updated_after,
                                       ids=listed))
    except ServiceTradeError as exc:
        fail(f"ServiceTrade's job search failed, so nothing was sent: {exc}. Check that "
             f"ServiceTrade is reachable and the account '{connection.account_name}' can sign "
             "in, then run the command again.", EXIT_FAILED)
    found = list(dict.fromkeys(job.id for job in jobs))
    if listed is None:
        return found, []
    present = set(found)
    # The file's order, and only the IDs that also match --status / --since.
    chosen = [job_id for job_id in listed if job_id in present]
    missing: list[int] = []
    if statuses or since:
        everywhere = {job.id for job in client.search_jobs(ids=[j for j in listed
                                                                if j not in present])}
        missing = [j for j in listed if j not in present and j not in everywhere]
    else:
        missing = [j for j in listed if j not in present]
    return chosen, missing


def bulk_send(
    connection: Annotated[str, typer.Option(help="The Spectrum connection to send to.")],
    status: Annotated[list[str] | None, typer.Option(
        metavar="S", help="Only jobs with this ServiceTrade status (repeat it, or separate "
                          "with commas: completed,closed).")] = None,
    since: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], metavar="YYYY-MM-DD",
        help="Only jobs updated in ServiceTrade on or after this day (UTC).")] = None,
    job_ids: Annotated[Path | None, typer.Option(
        "--job-ids", exists=True, dir_okay=False, metavar="FILE",
        help="Only the job IDs listed in FILE, one per line ('#' comments allowed).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send many jobs to Spectrum (exit 0 all sent, 1 any failed or interrupted, 2 usage).

    Ctrl-C stops it; run the same command again to resume (finished jobs are not resent).
    """
    statuses = sorted({s.strip() for value in status or [] for s in value.split(",")
                       if s.strip()})
    if not statuses and since is None and job_ids is None:
        fail("choose the jobs to send with --status, --since or --job-ids FILE (for example "
             "--status completed --since 2026-01-01).")
    listed = read_job_ids(job_ids) if job_ids is not None else None
    if listed == []:
        fail(f"{job_ids} lists no job IDs: put one ServiceTrade job ID per line.")
    since_text = since.date().isoformat() if since else None
    with app_context() as ctx, _stop_on_signals() as stop:
        conn = ctx.sender.active_connection(connection)
        key = selection_key(conn.name, statuses, since_text, listed)
        run = ctx.store.unfinished_bulk_run(conn.id, key)
        resumed = run is not None
        if run is None:
            chosen, missing = _select(ctx, conn, statuses, since, listed)
            run = ctx.store.start_bulk_run(
                conn.id, key, token=uuid.uuid4().hex[:12],
                selection={"status": statuses, "since": since_text,
                           "job_ids_file": str(job_ids) if job_ids else None},
                job_ids=chosen, not_found=missing, triggered_by=_os_user())
        else:
            stderr.print(f"Resuming the unfinished bulk send of {run.started_at:%Y-%m-%d %H:%M} "
                         "UTC: jobs it already sent are not sent again.", markup=False)
        report = _send_all(ctx, conn, run.job_ids, id_prefix=f"bulk-{run.token}-",
                           trigger="bulk", description=f"Sending to '{conn.name}'", stop=stop)
        if not report.unfinished:
            ctx.store.finish_bulk_run(run.id)
    _bulk_summary(conn.name, run.job_ids, run.not_found, report, resumed=resumed,
                  json_output=json_output)


def _bulk_summary(connection: str, job_ids: list[int], not_found: list[int],
                  report: BulkReport, *, resumed: bool, json_output: bool) -> None:
    from servicetrade_spectrum.workflows._bulk import JobOutcome

    outcomes = list(report.outcomes.values())
    missing = [JobOutcome(job_id, "failed", "job_not_found",
                          f"ServiceTrade has no job with ID {job_id}.",
                          "Check the ID in the file (the ID in the job's address, not the job "
                          "number).") for job_id in not_found]
    failures = missing + [o for o in outcomes if o.status == "failed"]
    sent = sum(1 for o in outcomes if o.status == "sent" and not o.earlier)
    skipped = sum(1 for o in outcomes if o.status == "sent" and o.earlier)
    matched = len(job_ids) + len(not_found)
    if json_output:
        typer.echo(json.dumps({"connection": connection, "matched": matched, "sent": sent,
                               "failed": len(failures), "skipped": skipped,
                               "failures": [_failure_json(o) for o in failures]}))
    else:
        earlier = (f", {skipped} skipped (already sent before the interruption)"
                   if skipped else "")
        stdout.print(f"Bulk send to '{connection}': {matched} jobs matched, {sent} sent, "
                     f"{len(failures)} failed{earlier}.", markup=False)
        if failures:
            stdout.print("Failed:", markup=False)
            _print_failures(failures)
    if failures:
        stderr.print(f"Fix the data named above, then run 'st-spectrum retry-failed "
                     f"--connection {connection}' to send the failed jobs again.", markup=False)
    if report.unfinished:
        where = ("this command" if report.embedded
                 else "the running 'serve' or 'worker' (this command follows them)")
        stderr.print(f"Interrupted: {len(report.unfinished)} of {matched} jobs are not sent "
                     f"yet. Run the same command again to resume: {where} sends the rest, and "
                     "no job already sent is sent again.", markup=False)
    elif resumed and not json_output:
        stdout.print("The interrupted bulk send is complete.", markup=False)
    if failures or report.unfinished:
        raise typer.Exit(EXIT_FAILED)


def retry_failed(
    connection: Annotated[str, typer.Option(help="The Spectrum connection to retry on.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send again every job whose latest send on the connection failed (after fixing it).

    With 'serve' or 'worker' running the retries are queued for it; otherwise they are sent
    here. Exit 0 once they are queued or sent.
    """
    with app_context() as ctx, _stop_on_signals() as stop:
        conn = ctx.sender.active_connection(connection)
        failed = ctx.store.latest_failures(conn.id)
        job_ids = list(dict.fromkeys(a.job_id for a in failed))
        if not job_ids:
            if json_output:
                typer.echo(json.dumps({"connection": conn.name, "retried": 0, "queued": 0,
                                       "sent": 0, "failed": 0, "failures": []}))
            else:
                stdout.print(f"No failed sends on connection '{conn.name}': nothing to retry.",
                             markup=False)
            return
        report = _send_all(ctx, conn, job_ids, id_prefix=f"retry-{uuid.uuid4().hex[:12]}-",
                           trigger="retry", description=f"Retrying on '{conn.name}'",
                           stop=stop, follow=False)
    outcomes = list(report.outcomes.values())
    failures = [o for o in outcomes if o.status == "failed"]
    sent = sum(1 for o in outcomes if o.status == "sent")
    queued = 0 if report.embedded else len(report.unfinished)
    if json_output:
        typer.echo(json.dumps({"connection": conn.name, "retried": len(job_ids),
                               "queued": queued, "sent": sent, "failed": len(failures),
                               "failures": [_failure_json(o) for o in failures]}))
    elif queued:
        stdout.print(f"Queued {queued} failed jobs again on '{conn.name}'; the running 'serve' "
                     f"or 'worker' sends them. Follow them with 'st-spectrum history "
                     f"--connection {conn.name}'.", markup=False)
    else:
        stdout.print(f"Retried {len(job_ids)} failed jobs on '{conn.name}': {sent} sent, "
                     f"{len(failures)} failed again.", markup=False)
        if failures:
            _print_failures(failures)
    if report.embedded and report.unfinished:
        stderr.print(f"Interrupted: {len(report.unfinished)} retries were not sent. Run "
                     f"'st-spectrum retry-failed --connection {conn.name}' again to send them.",
                     markup=False)
        raise typer.Exit(EXIT_FAILED)
