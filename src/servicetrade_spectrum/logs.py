"""Logging with structlog: one place configures it, and secrets are scrubbed on the way out.

Logs go to stderr (stdout belongs to command output such as ``--json``). Any event key whose
name suggests a secret is replaced by ``"[redacted]"`` before rendering, as a last line of
defence; code should not log secrets in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "get_logger", "scrub_secrets"]

_SECRET_KEY = re.compile(r"(password|secret|token|authorization|auth_id|api_key|cookie)",
                         re.IGNORECASE)
REDACTED = "[redacted]"


def scrub_secrets(_logger: Any, _method: str, event: MutableMapping[str, Any]
                  ) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event" and _SECRET_KEY.search(key):
            event[key] = REDACTED
    return event


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is at that moment.

    structlog's PrintLogger keeps the stream it was created with; when that stream is swapped
    and closed (a test runner capturing output, a daemon redirecting), every later log call
    would fail.
    """

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    renderer: Any = (structlog.processors.JSONRenderer() if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
