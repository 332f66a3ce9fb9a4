"""``st-spectrum rule``: send automatically when a job is created, reaches a status, or is
tagged."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from servicetrade_spectrum.cli._context import app_context, fail, stdout

__all__ = ["app"]

app = typer.Typer(help="Manage automatic-send rules.", no_args_is_help=True)


@app.command("add")
def add(
    connection: Annotated[str, typer.Option(help="Send to this connection.")],
    on_create: Annotated[bool, typer.Option("--on-create", help="When a job is created.")
                         ] = False,
    on_status: Annotated[str | None, typer.Option(help="When a job has this status.")] = None,
    on_tag: Annotated[str | None, typer.Option(help="When a job carries this tag.")] = None,
    job_type: Annotated[str, typer.Option(help="Only jobs of this type.")] = "",
) -> None:
    """Add a rule (exactly one of --on-create, --on-status, --on-tag)."""
    from servicetrade_spectrum.domain.rules import Trigger

    chosen = [(Trigger.ON_CREATE, "")] if on_create else []
    if on_status is not None:
        chosen.append((Trigger.ON_STATUS, on_status.strip()))
    if on_tag is not None:
        chosen.append((Trigger.ON_TAG, on_tag.strip()))
    if len(chosen) != 1 or (chosen[0][0] is not Trigger.ON_CREATE and not chosen[0][1]):
        fail("give exactly one of --on-create, --on-status STATUS or --on-tag TAG.")
    trigger, value = chosen[0]
    with app_context() as ctx:
        rule = ctx.store.add_rule(connection, trigger, value, job_type.strip())
    stdout.print(f"Rule {rule.id} added: {rule.describe()}.", markup=False)


@app.command("list")
def list_rules(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List rules."""
    with app_context() as ctx:
        rules = ctx.store.rules()
    if json_output:
        typer.echo(json.dumps([{"id": r.id, "connection": r.connection,
                                "trigger": r.trigger.value, "value": r.value,
                                "job_type": r.job_type} for r in rules]))
        return
    table = Table("id", "connection", "rule")
    for rule in rules:
        table.add_row(str(rule.id), rule.connection, rule.describe())
    stdout.print(table)


@app.command("remove")
def remove(rule_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Remove a rule."""
    with app_context() as ctx:
        ctx.store.remove_rule(rule_id)
    stdout.print(f"Rule {rule_id} removed.", markup=False)
