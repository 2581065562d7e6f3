"""Which tests reach a database, so that the PostgreSQL pass runs only those.

CI runs the whole suite on SQLite, then again with ``AGGREGATOR_TEST_BACKEND=postgresql``
(pgbackend.py). Three tests in four parse, render or check config and never open a
database: running them twice proves nothing new. With
``AGGREGATOR_TEST_RECORD_STORAGE=PATH`` the first pass notes every test that opened a
SQLite or PostgreSQL connection in the test process (and every test it skipped, which
the second pass may run); with ``AGGREGATOR_TEST_STORAGE_ONLY=PATH`` the second pass
deselects the rest. Nothing recorded at PATH (a first pass that did not run): the
second pass runs everything. A database opened only in a child process (the CLI in a
subprocess) is not seen, and needs no second pass: such children stay on SQLite.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RECORD = os.environ.get("AGGREGATOR_TEST_RECORD_STORAGE")
ONLY = os.environ.get("AGGREGATOR_TEST_STORAGE_ONLY")

_current: list[str] = []
_seen: set[str] = set()


def _noting(connect: Callable[..., Any]) -> Callable[..., Any]:
    def connecting(*args: Any, **kwargs: Any) -> Any:
        if _current:
            _seen.add(_current[-1])
        return connect(*args, **kwargs)

    return connecting


def install() -> None:
    """Start noting connections (the first pass, when asked to record)."""
    if not RECORD:
        return
    sqlite3.connect = _noting(sqlite3.connect)  # type: ignore[assignment]
    try:
        import psycopg
    except ImportError:
        return
    psycopg.connect = _noting(psycopg.connect)  # type: ignore[assignment]
    pool_connect = psycopg.Connection.connect.__func__  # type: ignore[attr-defined]
    psycopg.Connection.connect = classmethod(_noting(pool_connect))  # type: ignore[method-assign,assignment]


def around_test(item: pytest.Item) -> Iterator[None]:
    """Wraps a test's whole protocol (setup, call, teardown): its connections count."""
    _current.append(item.nodeid)
    try:
        yield
    finally:
        _current.pop()


def skipped(report: pytest.TestReport) -> None:
    """A test the first pass skipped may run in the second (PostgreSQL-only tests)."""
    if RECORD and report.skipped:
        _seen.add(report.nodeid)


def save(worker: str | None) -> None:
    """Each process writes what it saw: PATH.<worker> (PATH.main without xdist)."""
    if not RECORD:
        return
    path = Path(f"{RECORD}.{worker or 'main'}")
    path.write_text(json.dumps(sorted(_seen)), encoding="utf-8")


def recorded() -> set[str] | None:
    """The tests the first pass saw reach a database; None when it recorded nothing."""
    if not ONLY:
        return None
    base = Path(ONLY)
    files = sorted(base.parent.glob(f"{base.name}.*"))
    if not files:
        return None
    return {nodeid for path in files for nodeid in json.loads(path.read_text("utf-8"))}


def deselect(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the recorded tests (the second pass), but those that take the
    ``storage`` fixture: the first pass ran them on both backends already."""
    wanted = recorded()
    if wanted is None:
        return

    def needed(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        both = callspec is not None and "storage" in callspec.params
        return item.nodeid in wanted and not both

    kept = [item for item in items if needed(item)]
    dropped = [item for item in items if not needed(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
