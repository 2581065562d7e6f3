"""Parsing in worker processes ([fetch] processes) stores exactly what parsing here does."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, serve_generated
from pytest_httpserver import HTTPServer

from aggregator._sources import ParseOptions
from aggregator._update.decide import Outcome
from aggregator._update.reading import Reader, ReadRequest, read, worker_count
from aggregator.config.settings import load_config
from aggregator.core import RunSummary, run
from aggregator.errors import ConfigError
from benchmarks import feeds as generator

pytestmark = pytest.mark.slow  # real processes, kills or timeouts: `-m "not slow"` skips

#: Every table a run writes entries, their categories and duplicate links into.
TABLES = {
    "entries": "key",
    "entry_categories": "entry_key, category, source",
    "entry_sources": "entry_key, source",
    "entry_signatures": "entry_key",
    "entry_work_keys": "work_key, entry_key",
    # The LSH index is two tables (recent keys are merged into lsh_bands in bulk).
    "(SELECT * FROM lsh_bands UNION ALL SELECT * FROM lsh_bands_recent)": "band, sig_id",
    "duplicates": "entry_key",
    # The full-text index's text, made ahead in workers or here (ids follow fill order).
    "(SELECT entry_key, title, abstract, authors, content FROM search_text)": "entry_key",
}

#: The default config's sources: the seeds, with duplicates beyond identity keys.
SEED_SOURCES = (
    (ROOT / "config" / "default.toml")
    .read_text(encoding="utf-8")
    .split("[[sources]]", 1)[1]
    .replace('path = "seeds/', f'path = "{SEEDS}/')
)
SEED_SOURCES = "[[sources]]" + SEED_SOURCES


def http_sources(httpserver: HTTPServer, count: int = 4) -> str:
    parts = [serve_generated(httpserver, count, entries=40)]
    # A mirror republishing blog 1 under its own links and ids: near-duplicates.
    mirror = (
        generator.feed_bytes(1, entries=40)
        .replace(b"blog1.example.org", b"mirror.example")
        .replace(b'href="/2026', b'href="https://mirror.example/2026')
    )
    httpserver.expect_request("/mirror.xml").respond_with_data(
        mirror, content_type="application/xml"
    )
    parts.append(f'[[sources]]\nname = "mirror"\nurl = "{httpserver.url_for("/mirror.xml")}"\n')
    return "\n".join(parts)


def run_in(folder: Path, body: str, clock: Callable[[], datetime]) -> RunSummary:
    folder.mkdir()
    config = folder / "aggregator.toml"
    config.write_text(body, encoding="utf-8")
    return run(load_config(config), clock=clock)


def dump(database: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(database) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in TABLES.items()
        }


@pytest.mark.parametrize("processes", [1, 2])
def test_worker_processes_store_what_this_process_does(
    processes: int, httpserver: HTTPServer, clock: Callable[[], datetime], tmp_path: Path
) -> None:
    sources = http_sources(httpserver) + SEED_SOURCES
    here = run_in(tmp_path / "here", f"[fetch]\nprocesses = 0\n{sources}", clock)
    pooled = run_in(tmp_path / "pool", f"[fetch]\nprocesses = {processes}\n{sources}", clock)
    assert not here.failed and not pooled.failed
    assert here.count(Outcome.NEW) > 150 and here.count(Outcome.DUPLICATE) > 0
    assert [(r.name, r.counts, r.warnings, r.note) for r in pooled.sources] == [
        (r.name, r.counts, r.warnings, r.note) for r in here.sources
    ]
    stored = dump(tmp_path / "here" / "aggregator.db")
    assert all(stored.values())
    assert dump(tmp_path / "pool" / "aggregator.db") == stored
    here = tmp_path / "here" / "public" / "feeds"
    feeds = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file())  # archives too
    assert [(here / p).read_bytes() for p in feeds] == [
        (tmp_path / "pool" / "public" / "feeds" / p).read_bytes() for p in feeds
    ]


def test_a_document_that_fails_in_a_worker_is_reported_for_its_source_alone(
    httpserver: HTTPServer, clock: Callable[[], datetime], tmp_path: Path
) -> None:
    httpserver.expect_request("/broken.xml").respond_with_data(
        b"<rss version='2.0'><channel><title>x</title><item><title>a</ti",
        content_type="application/rss+xml",
    )
    broken = f'[[sources]]\nname = "broken"\nurl = "{httpserver.url_for("/broken.xml")}"\n'
    sources = http_sources(httpserver, count=2) + broken
    here = run_in(tmp_path / "here", f"[fetch]\nprocesses = 0\n{sources}", clock)
    pooled = run_in(tmp_path / "pool", f"[fetch]\nprocesses = 2\n{sources}", clock)
    assert [r.name for r in pooled.failed] == [r.name for r in here.failed] == ["broken"]
    assert pooled.failed[0].error == here.failed[0].error
    assert pooled.count(Outcome.NEW) == here.count(Outcome.NEW) > 0


@pytest.mark.parametrize("value", ["-1", '"many"', "true", "1.5"])
def test_processes_must_be_auto_or_a_count(value: str, write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(f"[fetch]\nprocesses = {value}\n"))
    assert "fetch.processes" in info.value.describe()


def test_auto_is_one_worker_per_core_and_none_on_one_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert worker_count("auto") == 4
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert worker_count("auto") == 0
    assert worker_count(3) == 3


def test_a_worker_killed_mid_document_is_replaced_by_reading_here(
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = ReadRequest(
        data=generator.feed_bytes(1, entries=3000),
        kind="feed",
        engine="auto",
        source="blog",
        options=ParseOptions(location="http://127.0.0.1/blog.xml"),
        now=datetime(2026, 1, 6, tzinfo=UTC),
        scheme=(128, 32),
    )
    expected = read(request)
    with Reader(1) as reader:
        pending = reader.submit(request)
        assert pending is not None
        workers = reader._pool._processes if reader._pool else {}
        deadline = time.monotonic() + 10
        while not workers and time.monotonic() < deadline:
            time.sleep(0.01)
        assert workers
        for process in list(workers.values()):
            os.kill(process.pid, signal.SIGKILL)
        got = pending.result()
        assert got.entries == expected.entries
        assert got.features.keys() == expected.features.keys()
        # The rest of the run reads here, and says so once.
        assert not reader.pooled and reader.submit(request) is None
    assert "reading in this process instead" in caplog.text


class _Unpicklable(Exception):
    """An exception a worker cannot send back as itself (it holds a lock)."""

    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = __import__("threading").Lock()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ValueError("bad value"), ValueError("bad value")),
        (_Unpicklable(), RuntimeError("_Unpicklable: holds a lock")),
    ],
)
def test_a_bug_in_a_worker_comes_back_as_itself_or_named(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, expected: Exception
) -> None:
    # What concurrent.futures does with a worker's exception: pickle it across.
    import pickle

    from aggregator._update import reading

    def broken(request: ReadRequest) -> object:
        raise raised

    monkeypatch.setattr(reading, "read", broken)
    with pytest.raises(Exception) as caught:
        reading._read_in_worker(None)  # type: ignore[arg-type]
    back = pickle.loads(pickle.dumps(caught.value))
    assert type(back) is type(expected) and str(back) == str(expected)
