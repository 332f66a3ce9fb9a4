"""Updating an attempt: one statement, a final status sets the end and the duration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from servicetrade_spectrum.store import NotFound, Store


def test_a_final_status_sets_finished_at_and_duration_and_nothing_is_a_no_op(
        configured: Store) -> None:
    connection = configured.connection("Main")
    attempt_id = configured.start_attempt(connection, 42, job_number="10042", trigger="cli",
                                          triggered_by="me", fields={"WO_Number": "T10042"},
                                          stage="prepared")
    configured.update_attempt(attempt_id)  # nothing to change
    configured.update_attempt(attempt_id, status="sent", work_order_number="T10042")
    record = configured.attempt(attempt_id)
    assert record.status == "sent"
    assert record.fields == {"WO_Number": "T10042"}
    assert record.finished_at is not None
    assert record.duration_ms is not None
    assert record.duration_ms >= 0
    with pytest.raises(NotFound):
        configured.update_attempt(attempt_id + 1000, stage="called")
    with pytest.raises(NotFound):
        configured.update_attempt(attempt_id + 1000)
    with pytest.raises(ValueError, match="not a sync attempt column"):
        configured.update_attempt(attempt_id, colour="blue")


def test_the_duration_is_reckoned_from_the_recorded_start_to_the_recorded_end(
        configured: Store) -> None:
    """The database computes it (one UPDATE): from the row's own start, on either backend."""
    connection = configured.connection("Main")
    attempt_id = configured.start_attempt(connection, 43, job_number="10043", trigger="cli",
                                          triggered_by="me")
    started = configured.attempt(attempt_id).started_at
    configured.update_attempt(attempt_id, started_at=started - timedelta(seconds=90,
                                                                         milliseconds=250))

    configured.update_attempt(attempt_id, status="failed", failure_kind="other")

    record = configured.attempt(attempt_id)
    assert record.finished_at is not None
    expected = (record.finished_at - record.started_at) / timedelta(milliseconds=1)
    assert record.duration_ms is not None
    assert abs(record.duration_ms - expected) <= 1
    assert 90_250 <= record.duration_ms < 90_250 + 5_000


def test_beginning_a_conclusion_says_how_far_the_attempt_got_and_marks_a_running_one(
        configured: Store) -> None:
    connection = configured.connection("Main")

    def started(**values: str) -> int:
        return configured.start_attempt(connection, 44, job_number="10044", trigger="cli",
                                        triggered_by="me", **values)

    prepared = started(stage="prepared")
    first = configured.begin_concluding(prepared, spectrum_message="Created")
    again = configured.begin_concluding(prepared, spectrum_message="Created again")
    assert (first.status, first.stage, first.finished) == ("running", "prepared", None)
    assert (again.status, again.stage, again.finished) == ("running", "concluding", None)
    record = configured.attempt(prepared)
    assert (record.stage, record.spectrum_message) == ("concluding", "Created again")

    unread = started()  # its job could not be read: no draft, no stage
    progress = configured.begin_concluding(unread)
    assert (progress.status, progress.stage) == ("running", "")
    assert configured.attempt(unread).stage == "concluding"

    sent = started(stage="prepared")
    configured.update_attempt(sent, status="sent", work_order_number="T10044")
    finished = configured.begin_concluding(sent, spectrum_message="late")
    assert (finished.status, finished.stage) == ("sent", "prepared")
    assert finished.finished is not None
    assert finished.finished.spectrum_message == ""  # a finished attempt is left as it was

    with pytest.raises(NotFound):
        configured.begin_concluding(sent + 1000)
