"""Automation rules: which job events should send a job on a connection. Pure rules.

Webhook messages carry IDs only, so a rule is judged on the job as read from ServiceTrade:
``on_status`` matches the job's status (also when it reaches that status later),
``on_tag`` a tag's name, ``on_create`` the ``created`` action; ``job_type`` narrows any rule
to jobs of that type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["JobEvent", "Rule", "Trigger", "matching_rules"]


class Trigger(StrEnum):
    ON_CREATE = "on_create"
    ON_STATUS = "on_status"
    ON_TAG = "on_tag"


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    connection: str
    trigger: Trigger
    value: str = ""
    """The status (on_status) or tag name (on_tag); blank for on_create."""
    job_type: str = ""

    def describe(self) -> str:
        what = {Trigger.ON_CREATE: "when a job is created",
                Trigger.ON_STATUS: f"when a job's status is '{self.value}'",
                Trigger.ON_TAG: f"when a job carries the tag '{self.value}'"}[self.trigger]
        only = f", {self.job_type} jobs only" if self.job_type else ""
        return f"send to '{self.connection}' {what}{only}"


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A job as read after an event (or found by the polling sweep)."""

    job_id: int
    action: str  # created, updated, or "sweep"
    status: str
    job_type: str
    tags: tuple[str, ...]


def _matches(rule: Rule, event: JobEvent) -> bool:
    if rule.job_type and rule.job_type != event.job_type:
        return False
    if rule.trigger is Trigger.ON_CREATE:
        return event.action == "created"
    if rule.trigger is Trigger.ON_STATUS:
        return event.status == rule.value
    return rule.value in event.tags


def matching_rules(rules: Iterable[Rule], event: JobEvent) -> list[Rule]:
    """The rules this event fires, at most one per connection (one send is enough)."""
    fired: dict[str, Rule] = {}
    for rule in rules:
        if rule.connection not in fired and _matches(rule, event):
            fired[rule.connection] = rule
    return list(fired.values())
