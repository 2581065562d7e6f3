"""A run that stored many entries writes its digests in a second process while it
fills the search index and publishes the feeds: the same files as one process writes,
the same errors, its log records shown here, and a process that dies leaves nothing
unwritten."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_generated
from pytest_httpserver import HTTPServer

import aggregator.core as core
from aggregator._output.beside import Beside
from aggregator.config.settings import Settings, load_config
from aggregator.core import RunSummary, run
from aggregator.errors import PublishError
from benchmarks.chatserver import Answer, chat_server, summarise

pytestmark = pytest.mark.slow  # real processes (spawned): `-m "not slow"` skips


def _run_in(
    folder: Path, sources: str, clock: Callable[[], datetime], *, extra: str = ""
) -> RunSummary:
    folder.mkdir()
    config = folder / "aggregator.toml"
    config.write_text(
        '[fetch]\nprocesses = 1\n[publish]\nformats = ["atom", "json"]\n' + extra + sources,
        encoding="utf-8",
    )
    return run(load_config(config), clock=clock)


@pytest.fixture
def three_feeds(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Three served feeds' sources, and a threshold their 60 entries pass."""
    monkeypatch.setattr(core, "BESIDE_ENTRIES", 10)
    return serve_generated(httpserver, 3, entries=20)


def _one_then_beside(
    tmp_path: Path,
    sources: str,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
    *,
    extra: str = "",
) -> tuple[RunSummary, RunSummary, dict[str, bytes]]:
    """The same first run in one process, then with the digests beside: both summaries,
    and the second's published files, checked equal to the first's."""
    monkeypatch.setattr(core, "BESIDE_ENTRIES", 10**9)
    one = _run_in(tmp_path / "one", sources, clock, extra=extra)
    monkeypatch.setattr(core, "BESIDE_ENTRIES", 10)
    beside = _run_in(tmp_path / "beside", sources, clock, extra=extra)
    assert (one.digests_beside, beside.digests_beside) == (False, True)
    published = _files(tmp_path / "beside" / "public")
    assert published == _files(tmp_path / "one" / "public")
    return one, beside, published


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_digests_written_beside_the_feeds_are_those_one_process_writes(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = serve_generated(httpserver, 4, entries=30)
    one, beside, published = _one_then_beside(tmp_path, sources, clock, monkeypatch)
    assert beside.feeds_written == one.feeds_written > 0
    assert beside.index_written
    assert any(name.endswith(".atom") for name in published)
    assert any(name.endswith(".json") for name in published)
    assert any(name.startswith("digests/") for name in published)
    assert {"ingest", "digests", "feeds"} <= set(beside.stages)

    # A rerun finds every digest current (the second process recorded what it wrote).
    again = run(load_config(tmp_path / "beside" / "aggregator.toml"), clock=clock)
    assert again.feeds_written == 0
    assert again.digests_written == 0
    assert not again.digests_beside  # nothing new stored: written here


def test_ranked_digests_written_beside_are_those_one_process_writes(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With interests the digests follow the ranking: the second process's digests are
    # ranked exactly as one process ranks them (it reads the scores the run stored).
    sources = serve_generated(httpserver, 4, entries=30)
    interests = '[interests]\nkeywords = ["topic01", "entry 7"]\n'
    one, _, _ = _one_then_beside(tmp_path, sources, clock, monkeypatch, extra=interests)
    assert one.ranking is not None


def test_digests_carrying_server_summaries_wait_for_them(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A summariser writes what the digests show: the second process starts after it.
    sources = serve_generated(httpserver, 2, entries=12)

    def slowly(body: dict[str, Any], number: int) -> Answer:
        # Slower than starting a process: a second process started before the
        # summaries were stored would write digests without them.
        return replace(summarise(body), delay=0.25)

    with chat_server(slowly) as server:
        summaries = (
            f'[summaries]\nprovider = "openai-compatible"\nbase_url = "{server.url}"\n'
            'model = "llama3.1"\n'
        )
        _, _, published = _one_then_beside(tmp_path, sources, clock, monkeypatch, extra=summaries)
    assert any(b"TLDR of " in data for name, data in published.items() if "digests/" in name)


def test_a_run_below_the_threshold_writes_its_digests_itself(
    httpserver: HTTPServer, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    sources = serve_generated(httpserver, 2, entries=10)
    summary = _run_in(tmp_path / "small", sources, clock)
    assert summary.feeds_written > 0
    assert not summary.digests_beside


def die(settings: Settings, days: set[date], gone: Sequence[date]) -> tuple[int, list[date]]:
    """Stands in for the second process's work: the process is killed (OOM killer)."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_a_killed_second_process_leaves_nothing_unwritten(
    three_feeds: str,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sources = three_feeds
    monkeypatch.setattr(core, "_digests_in_child", die)
    with caplog.at_level(logging.WARNING, logger="aggregator.core"):
        summary = _run_in(tmp_path / "killed", sources, clock)
    assert not summary.digests_beside
    assert summary.digests_written > 0
    assert list((tmp_path / "killed" / "public" / "digests").glob("*/index.html"))
    assert "the process doing the digests died" in caplog.text


def test_an_error_in_the_second_process_stops_the_run_as_it_would_here(
    three_feeds: str, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    folder = tmp_path / "blocked"
    folder.mkdir()
    # The digests' folder is a file: the second process cannot write a digest.
    (folder / "public").mkdir()
    (folder / "public" / "digests").write_text("not a folder", encoding="utf-8")
    config = folder / "aggregator.toml"
    config.write_text("[fetch]\nprocesses = 1\n" + three_feeds, encoding="utf-8")
    with pytest.raises(PublishError) as raised:
        run(load_config(config), clock=clock)
    assert "digests" in str(raised.value)
    # The feeds were published meanwhile, in the run's own process.
    assert (folder / "public" / "feeds" / "all.atom").is_file()


def warn_then_write(
    settings: Settings, days: set[date], gone: Sequence[date]
) -> tuple[int, list[date]]:
    logging.getLogger("aggregator.output").warning("a warning from the second process")
    logging.getLogger("aggregator.output").info("an info line nobody asked for")
    return core._digests_in_child(settings, days, gone)


def test_what_the_second_process_logs_is_shown_by_the_run(
    three_feeds: str,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sources = three_feeds
    monkeypatch.setattr(core, "_digests_in_child", warn_then_write)
    with caplog.at_level(logging.WARNING):
        summary = _run_in(tmp_path / "logs", sources, clock)
    assert summary.digests_beside
    shown = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert ("aggregator.output", logging.WARNING, "a warning from the second process") in shown
    assert not any("nobody asked for" in message for _, _, message in shown)


def broken(number: int) -> int:
    return 100 // number


def test_a_bug_in_the_second_process_is_raised_with_where_it_happened() -> None:
    beside = Beside("a division", broken, 0)
    with pytest.raises(ZeroDivisionError) as raised:
        beside.result()
    assert "in the second process" in "".join(raised.value.__notes__)
    assert "broken" in "".join(raised.value.__notes__)
    assert Beside("a division", broken, 4).result() == 25
