"""The run lock between real processes: contention, exit code 4, a holder killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from aggregator._app.cli import EXIT_LOCKED, main
from aggregator._storage.lock import database_lock, holder_of, lock_path
from aggregator.errors import LockedError

pytestmark = pytest.mark.sqlite_only(reason="the lock file beside a SQLite database")

HOLD = """
import sys, time
from pathlib import Path
from aggregator._storage.lock import database_lock
with database_lock(Path(sys.argv[1]), timeout=0, purpose="test holder"):
    print("held", flush=True)
    time.sleep(120)
"""


@contextmanager
def holder(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``database`` until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "held"
            yield process
        finally:
            process.kill()
            process.wait()


def test_a_second_run_waits_then_exits_4_naming_the_holder(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text("[storage]\nlock_timeout = 0.5\n")
    with holder(tmp_path / "aggregator.db") as process:
        result = subprocess.run(
            [sys.executable, "-c", "from aggregator._app.cli import main; main()", "run", "-q"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == EXIT_LOCKED == 4
    assert result.stdout == ""
    assert f"another aggregator is working on {tmp_path / 'aggregator.db'}" in result.stderr
    assert f"pid {process.pid}, test holder" in result.stderr
    assert "gave up after 0.5 s" in result.stderr
    assert "lock_timeout" in result.stderr
    assert not (tmp_path / "public").exists()


def test_a_lock_left_by_a_process_killed_with_sigkill_does_not_block(tmp_path: Path) -> None:
    database = tmp_path / "aggregator.db"
    with holder(database) as process:
        with pytest.raises(LockedError), database_lock(database, timeout=0):
            pass
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # The file is still there and still names the dead holder ...
        assert lock_path(database).exists()
        assert f"pid {process.pid}" in (holder_of(database) or "")
        # ... but the kernel released the lock with the process: no waiting at all.
        with database_lock(database, timeout=0, purpose="next"):
            assert f"pid {os.getpid()}, next" in (holder_of(database) or "")
    assert holder_of(database) is None


def test_a_waiting_run_goes_ahead_when_the_holder_finishes(tmp_path: Path) -> None:
    database = tmp_path / "aggregator.db"
    released = threading.Event()
    with holder(database) as process:
        threading.Timer(0.3, lambda: (process.kill(), released.set())).start()
        with database_lock(database, timeout=60):
            assert released.is_set()


def test_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    database = tmp_path / "aggregator.db"
    with database_lock(database, timeout=0):
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with database_lock(database, timeout=0):
                    pass
            except LockedError as err:
                errors.append(err)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(errors) == 1


def test_waiting_uses_the_injected_clock(tmp_path: Path) -> None:
    database = tmp_path / "aggregator.db"
    ticks = iter(range(100))
    slept: list[float] = []
    with (
        holder(database),
        pytest.raises(LockedError, match="gave up after 3 s"),
        database_lock(
            database, timeout=3, sleep=slept.append, monotonic=lambda: float(next(ticks))
        ),
    ):
        pass
    # Deadline at tick 0 + 3; checks at ticks 1 and 2 sleep, tick 3 gives up.
    assert slept == [0.2, 0.2]


def test_two_cli_runs_in_one_process_the_second_is_refused(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text("[storage]\nlock_timeout = 0\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with database_lock(tmp_path / "aggregator.db", timeout=0, purpose="schedule: run"):
            result = CliRunner().invoke(main, ["publish"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 4
    assert "schedule: run" in result.output


def test_a_lock_file_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    # A folder where the lock file must go (a file where the database's folder must go
    # is a configuration error: see tests/test_database_path.py).
    (tmp_path / "x.db.lock").mkdir()
    (tmp_path / "aggregator.toml").write_text('[storage]\ndatabase = "x.db"\n')
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "aggregator.toml"), "run"])
    assert result.exit_code == 3
    assert "cannot create the lock file" in result.output
