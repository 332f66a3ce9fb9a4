from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
import structlog

from servicetrade_spectrum.logs import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_logs_go_to_the_current_stderr_even_after_it_was_swapped_and_closed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    configure_logging("INFO", "console")
    captured.close()  # what a CLI test runner does with its captured stream
    replacement = io.StringIO()
    monkeypatch.setattr(sys, "stderr", replacement)
    get_logger("test").info("still.logging", job_id=7)
    assert "still.logging" in replacement.getvalue()


def test_secret_looking_keys_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("INFO", "json")
    get_logger("test").info("login", password="hunter2-pw", client_secret="s3cr3t-value",
                            username="pat")
    line = out.getvalue()
    assert "hunter2-pw" not in line
    assert "s3cr3t-value" not in line
    assert "pat" in line
