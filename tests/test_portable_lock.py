"""Where there is no ``fcntl`` (Windows): the CLI still imports, runs and locks.

Each test runs a real ``aggregator`` process whose ``import fcntl`` fails, as it does
on Windows (a meta-path finder refuses the module before anything imports it), so the
run lock falls back to the ``filelock`` package. Windows itself is not available here;
this is the closest honest check on Linux: the same code path, minus msvcrt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import ROOT

from aggregator._app.cli import EXIT_LOCKED

WITHOUT_FCNTL = """
import sys

class NoFcntl:
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ImportError("No module named 'fcntl' (blocked: pretending to be Windows)")
        return None

sys.modules.pop("fcntl", None)
sys.meta_path.insert(0, NoFcntl())
"""

CLI = (
    WITHOUT_FCNTL
    + """
from aggregator._app.cli import main
import aggregator._storage.lock as lock
assert lock.fcntl is None, "fcntl was imported after all"
main()
"""
)

HOLD = (
    WITHOUT_FCNTL
    + """
import time
from pathlib import Path
from aggregator._storage.lock import database_lock
import aggregator._storage.lock as lock
assert lock.fcntl is None
with database_lock(Path(sys.argv[1]), timeout=0, purpose="windows holder"):
    print("held", flush=True)
    sys.stdin.readline()
"""
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def holder(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another fcntl-less process holding the lock until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        try:
            assert process.stdout.readline().strip() == "held"
            yield process
        finally:
            process.stdin.write("\n")
            process.stdin.flush()
            process.wait(timeout=60)


def test_the_blocker_really_hides_fcntl(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL + "import fcntl"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "blocked: pretending to be Windows" in result.stderr


def test_the_cli_imports_and_runs_without_fcntl(tmp_path: Path) -> None:
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    result = cli("run", "--no-send", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "public" / "feeds" / "all.atom").stat().st_size > 0
    # The lock was taken and let go: the holder line is empty again.
    assert (tmp_path / "aggregator.db.lock").read_text() == ""


def test_the_fallback_lock_keeps_a_second_run_out(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text("[storage]\nlock_timeout = 0.5\n")
    database = tmp_path / "aggregator.db"
    with holder(database) as process:
        result = cli("run", "-q", cwd=tmp_path)
        assert result.returncode == EXIT_LOCKED, result.stderr
        assert f"pid {process.pid}, windows holder" in result.stderr
        assert not (tmp_path / "public").exists()
    # Released when the holder finished: the next run goes ahead.
    result = cli("run", "--no-send", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
