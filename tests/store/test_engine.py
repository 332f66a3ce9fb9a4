"""The SQLite engine's prompt write transactions (``write_promptly``), on real files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

from servicetrade_spectrum.store import create_database_engine
from servicetrade_spectrum.store._engine import write_promptly


def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    return engine


def test_a_prompt_writer_waits_for_the_lock_held_elsewhere_then_writes(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    holder = engine.connect()
    holder.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
    release = threading.Timer(0.3, lambda: (holder.exec_driver_sql("INSERT INTO t VALUES (1)"),
                                            holder.commit()))
    release.start()
    started = time.monotonic()
    with write_promptly(engine) as writer:  # without waiting, BEGIN IMMEDIATE fails "locked"
        waited = time.monotonic() - started
        writer.exec_driver_sql("INSERT INTO t VALUES (2)")
        # The connection goes back to the pool with SQLite's usual busy timeout.
        assert writer.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    release.join()
    holder.close()
    assert waited >= 0.25
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    engine.dispose()


def test_a_prompt_writer_takes_a_free_lock_at_once(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    with write_promptly(engine) as writer:
        writer.exec_driver_sql("INSERT INTO t VALUES (3)")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()


def test_prompt_writers_of_one_process_all_write_and_a_failed_one_writes_nothing(
        tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)

    def write(n: int) -> None:
        with write_promptly(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (?)", (n,))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        with write_promptly(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (99)")
            raise RuntimeError("the caller failed half-way")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == list(
            range(20))
    engine.dispose()
