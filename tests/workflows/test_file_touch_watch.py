"""The kernel's word that a file was touched (inotify), from this process and from others.

Real files in the test's folder; the touches from another process are a real ``python -c``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicetrade_spectrum.workflows._file_touch_watch import FileTouchWatch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="inotify is Linux's; elsewhere the queue looks at the file")

WAIT = 5.0


class Touches:
    """Counts the watch's calls; waits for the next."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_beyond(self, count: int, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count > count, timeout=timeout)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "st-spectrum.db-queued"


@pytest.fixture
def touches() -> Touches:
    return Touches()


@pytest.fixture
def watch(marker: Path, touches: Touches) -> Iterator[FileTouchWatch]:
    started = FileTouchWatch.start(marker, touches)
    assert started is not None
    yield started
    started.close()


def touch(path: Path) -> None:
    now = time.time_ns()
    if not path.exists():
        path.touch()
    os.utime(path, ns=(now, now))


def test_a_file_made_then_touched_wakes_the_watch_each_time(
        watch: FileTouchWatch, marker: Path, touches: Touches) -> None:
    touch(marker)  # made: the file did not exist when the watch started
    assert touches.wait_beyond(0)
    seen = touches.count
    touch(marker)
    assert touches.wait_beyond(seen)


def test_a_touch_from_another_process_wakes_the_watch(
        watch: FileTouchWatch, marker: Path, touches: Touches) -> None:
    marker.touch()
    assert touches.wait_beyond(0)
    seen = touches.count
    subprocess.run([sys.executable, "-c", f"import os; os.utime({str(marker)!r})"],
                   check=True)
    assert touches.wait_beyond(seen)


def test_other_files_of_the_folder_and_writes_to_the_file_wake_nothing(
        watch: FileTouchWatch, marker: Path, touches: Touches) -> None:
    marker.touch()
    assert touches.wait_beyond(0)
    seen = touches.count
    database = marker.with_name("st-spectrum.db")
    database.write_bytes(b"pages")
    touch(database)  # the database's own times, as SQLite's writes set them
    with marker.open("ab") as appended:  # a write, not a touch
        appended.write(b"x")
    assert not touches.wait_beyond(seen, timeout=0.5)


def test_a_file_deleted_and_made_again_is_still_watched(
        watch: FileTouchWatch, marker: Path, touches: Touches) -> None:
    touch(marker)
    assert touches.wait_beyond(0)
    marker.unlink()
    seen = touches.count
    touch(marker)
    assert touches.wait_beyond(seen)


def test_a_watch_closed_is_called_no_more(marker: Path, touches: Touches) -> None:
    watch = FileTouchWatch.start(marker, touches)
    assert watch is not None
    watch.close()
    watch.close()  # twice: nothing more to do
    touch(marker)
    time.sleep(0.2)
    assert touches.count == 0
    assert not any(t.name == "st-spectrum-queued-watch" and t.is_alive()
                   for t in threading.enumerate())


def test_a_callback_that_raises_does_not_end_the_watch(marker: Path) -> None:
    touches = Touches()
    calls = 0

    def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the caller's own failure")
        touches()

    watch = FileTouchWatch.start(marker, flaky)
    assert watch is not None
    try:
        touch(marker)
        time.sleep(0.2)
        seen = touches.count
        touch(marker)
        assert touches.wait_beyond(seen)
    finally:
        watch.close()


def test_a_folder_that_does_not_exist_cannot_be_watched(tmp_path: Path) -> None:
    assert FileTouchWatch.start(tmp_path / "missing" / "db-queued", lambda: None) is None
