"""The command line as users and scripts run it: ``st-spectrum`` in a subprocess.

Each test starts the real program against the two emulators (served by the test process on
loopback ports) and the suite's database. The subprocess gets the test's home, database and
fast retry settings through ``ST_SPECTRUM_*`` variables; secrets travel the way the contract
says they must, in environment variables, never on the command line.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.store import Store

CLI_TIMEOUT = 60.0

SECRET_ENV: dict[str, str] = {
    "ST_SPECTRUM_SERVICETRADE_PASSWORD": seed.DEMO_PASSWORD,
    "ST_SPECTRUM_SERVICETRADE_CLIENT_SECRET": seed.DEMO_OAUTH_CLIENT_SECRET,
    "ST_SPECTRUM_AUTHORIZATION_ID": seed.DEMO_AUTHORIZATION_ID,
    "ST_SPECTRUM_CLIENT_SECRET": seed.DEMO_CLIENT_SECRET,
}
"""The secrets the commands read from the environment (every one a demo credential)."""

SECRETS: tuple[str, ...] = tuple(SECRET_ENV.values())


class RunCli(Protocol):
    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None
                 ) -> subprocess.CompletedProcess[str]: ...


def cli_command() -> list[str]:
    """The installed ``st-spectrum`` script next to the interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("st-spectrum")
    return [str(script)] if script.exists() else [sys.executable, "-m", "servicetrade_spectrum"]


def base_environment(settings: Settings, database_url: str | None,
                     subprocess_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    """The shared subprocess environment (see ``tests/conftest.py``) plus the secrets; with
    ``database_url`` None, the program's default database in the home."""
    env = subprocess_env(settings, **SECRET_ENV)
    if database_url is None:
        del env["ST_SPECTRUM_DATABASE_URL"]
    else:
        env["ST_SPECTRUM_DATABASE_URL"] = database_url
    return env


def merged(base: Mapping[str, str], changes: Mapping[str, str | None] | None) -> dict[str, str]:
    """``base`` with ``changes`` applied; a ``None`` value removes the variable."""
    env = dict(base)
    for key, value in (changes or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.fixture
def cli_env(settings: Settings, database_url: str,
            subprocess_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    return base_environment(settings, database_url, subprocess_env)


@pytest.fixture
def run_cli(store: Store, cli_env: dict[str, str]) -> RunCli:
    """Run ``st-spectrum ARGS`` to the end; stdin closed (no tty), stdout and stderr apart.

    Depends on ``store`` so that the database is migrated first and emptied afterwards.
    """

    def run(*args: str, env: Mapping[str, str | None] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli_command(), *args], env=merged(cli_env, env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=CLI_TIMEOUT, check=False)

    return run


@pytest.fixture
def start_cli(store: Store, cli_env: dict[str, str]
              ) -> Iterator[Callable[[Sequence[str]], subprocess.Popen[str]]]:
    """Start ``st-spectrum ARGS`` without waiting (for commands run at the same moment)."""
    started: list[subprocess.Popen[str]] = []

    def start(args: Sequence[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen([*cli_command(), *args], env=cli_env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def only_json(stdout: str) -> Any:
    """The whole of stdout as one JSON document (fails when anything else is printed)."""
    return json.loads(stdout)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
