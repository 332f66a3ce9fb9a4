from __future__ import annotations

from servicetrade_spectrum.domain.rules import JobEvent, Rule, Trigger, matching_rules


def event(action: str = "updated", status: str = "scheduled", job_type: str = "repair",
          tags: tuple[str, ...] = ()) -> JobEvent:
    return JobEvent(job_id=1, action=action, status=status, job_type=job_type, tags=tags)


def test_on_create_fires_only_for_created() -> None:
    rule = Rule(1, "Main", Trigger.ON_CREATE)
    assert matching_rules([rule], event("created")) == [rule]
    assert matching_rules([rule], event("updated")) == []


def test_on_status_matches_the_status_the_job_has_now() -> None:
    rule = Rule(1, "Main", Trigger.ON_STATUS, "completed")
    assert matching_rules([rule], event(status="completed")) == [rule]
    assert matching_rules([rule], event("created", status="completed")) == [rule]
    assert matching_rules([rule], event(status="scheduled")) == []


def test_on_tag_and_job_type() -> None:
    rule = Rule(1, "Main", Trigger.ON_TAG, "billable", job_type="inspection")
    assert matching_rules([rule], event(job_type="inspection", tags=("billable",))) == [rule]
    assert matching_rules([rule], event(job_type="repair", tags=("billable",))) == []
    assert matching_rules([rule], event(job_type="inspection", tags=("warranty",))) == []


def test_one_send_per_connection_however_many_rules_match() -> None:
    rules = [Rule(1, "Main", Trigger.ON_STATUS, "completed"), Rule(2, "Main", Trigger.ON_TAG, "x"),
             Rule(3, "Second", Trigger.ON_TAG, "x")]
    fired = matching_rules(rules, event(status="completed", tags=("x",)))
    assert [r.id for r in fired] == [1, 3]
    assert "when a job's status is 'completed'" in fired[0].describe()
