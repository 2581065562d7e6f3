"""The facade: the public surface, the run lock around every writing command, the
enrich hook."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS
from test_lock import holder

import aggregator
from aggregator import Aggregator, StoredEntry, load_config
from aggregator._app.cli import EXIT_LOCKED, main
from aggregator._storage.protocol import Storage

SAMPLES = f"""
[storage]
lock_timeout = 0.3

[[sources]]
name = "daily"
kind = "markdown-digest"
path = "{SEEDS / "002_d401467fe4d4ae84.txt"}"

[[sources]]
name = "reading"
path = "{SEEDS / "lab-reading-list.rss"}"
categories = ["reading"]

[[sources]]
name = "arxiv-ai"
kind = "arxiv"
categories = ["cs.AI"]

[arxiv]
# Nothing listens there: no test reaches the internet.
base_url = "http://127.0.0.1:9/"
api_url = "http://127.0.0.1:9/api/query"
"""


def test_the_public_surface_is_pinned() -> None:
    assert sorted(aggregator.__all__) == [
        "Aggregator",
        "AggregatorError",
        "ConfigError",
        "DeliveryError",
        "DeliveryReport",
        "Enricher",
        "FetchError",
        "GoneError",
        "LinkNotFoundError",
        "LockedError",
        "ParseError",
        "PublishError",
        "RunSummary",
        "SearchError",
        "Settings",
        "SmtpError",
        "SourceError",
        "SourceReport",
        "StorageError",
        "StoredEntry",
        "__version__",
        "load_config",
    ]
    for name in aggregator.__all__:
        assert getattr(aggregator, name) is not None


@pytest.mark.sqlite_only(reason="holds the SQLite database's lock file in another process")
@pytest.mark.parametrize(
    "command",
    [
        ["arxiv", "backfill", "--from", "2026-01-12", "--to", "2026-01-12"],
        ["dupes", "split", "1"],
        ["dupes", "reindex"],
        ["sources", "add", "notes", "notes.md", "--kind", "markdown"],
        ["sources", "remove", "reading"],
        ["sources", "reset", "--all"],
        ["publish"],
        ["send"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_writing_command_waits_for_the_run_lock(
    tmp_path: Path, write_config: Callable[[str], Path], command: list[str]
) -> None:
    config = write_config(
        SAMPLES + '\n[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = 9\n'
        'from = "d@example.org"\n\n[[subscribers]]\nemail = "r@example.org"\n'
    )
    (tmp_path / "notes.md").write_text("# Notes\n\nbody\n", encoding="utf-8")
    runner = CliRunner()
    # The arXiv source fails (nothing listens on port 9); the others make the database.
    assert runner.invoke(main, ["-c", str(config), "fetch", "-q"]).exit_code == 1
    before = config.read_bytes()
    with holder(tmp_path / "aggregator.db"):
        result = runner.invoke(main, ["-c", str(config), *command])
    assert result.exit_code == EXIT_LOCKED, result.output
    assert "another aggregator is working on" in result.output
    assert config.read_bytes() == before  # a config edit waits too


class Recorder:
    """A stub enricher: remembers what it was handed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def enrich(self, entries: Sequence[StoredEntry], store: Storage) -> list[str]:
        self.calls.append([entry.key for entry in entries])
        return []


def test_an_enricher_sees_every_new_entry_once(
    tmp_path: Path, write_config: Callable[[str], Path], clock: Callable[[], datetime]
) -> None:
    config = write_config(SAMPLES.replace('kind = "arxiv"', 'kind = "arxiv"\nenabled = false'))
    recorder = Recorder()
    app = Aggregator(load_config(config), clock=clock, enrichers=[recorder])
    summary = app.run(run_date=date(2026, 11, 23))
    assert len(recorder.calls) == 1
    seen = recorder.calls[0]
    assert len(seen) == len(set(seen)) == summary.count(aggregator.core.Outcome.NEW)
    # Every entry the run stored and publishes, none it merged into another.
    feed = (tmp_path / "public" / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert feed.count("<entry>") == len(seen)
    # A rerun creates nothing, so hands nothing over.
    app.run(run_date=date(2026, 11, 24))
    assert recorder.calls[1] == []
