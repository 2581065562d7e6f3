"""Helpers for the crash tests: run the real CLI in a subprocess, pause it at a
test hook (``AGGREGATOR_TEST_PAUSE_AT``, see aggregator/_common/faults.py), SIGKILL it
there, and check what it left: the database and every published file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import feedparser
from atomcheck import validate_atom
from conftest import ROOT

from aggregator._common.faults import ENV

RUN = [sys.executable, "-c", "from aggregator._app.cli import main; main()"]


def cli(folder: Path, *args: str, pause_at: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(ENV, None)
    if pause_at:
        env[ENV] = pause_at
    return subprocess.Popen(
        [*RUN, *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )


def _ctrl_c_as_at_a_terminal() -> None:
    # A test suite started in the background (`./.ci/run &`) ignores SIGINT, and an
    # ignored signal stays ignored in every child: Python would then never turn it into
    # KeyboardInterrupt, and a test sending Ctrl-C would wait for nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_to_end(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with cli(folder, *args) as process:
        out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def kill_at(folder: Path, point: str, *args: str) -> None:
    """Start ``aggregator ARGS`` (default: a run on 2026-11-23), wait until it pauses
    at ``point``, and SIGKILL it there."""
    with cli(folder, *(args or ("run", "--date", "2026-11-23")), pause_at=point) as process:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.strip() == f"aggregator: paused at {point}", line
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def assert_complete(public: Path) -> None:
    """Every published file in place is whole: feeds valid Atom, pages closed."""
    for path in public.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        if path.suffix == ".atom":
            validate_atom(data)
            assert not feedparser.parse(data).bozo, path
        elif path.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), path
        else:
            assert data.endswith(b"\n"), path


def database_state(database: Path) -> tuple[str, list[str]]:
    """``PRAGMA integrity_check``'s answer and the status of every run, oldest first."""
    with sqlite3.connect(database) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        statuses = [row[0] for row in conn.execute("SELECT status FROM runs ORDER BY id")]
    conn.close()
    return check, statuses
