"""The job queue ([queue], `aggregator worker`): real worker processes, a real
PostgreSQL cluster, feeds from a real HTTP server on 127.0.0.1.

A run with workers must store, publish and mail what a run without them does; a worker
killed mid-run must cost nothing but time; per-host limits must hold across workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import serve_generated
from pytest_httpserver import HTTPServer

from aggregator._app.cli import main
from aggregator._update.decide import Outcome
from aggregator.config.settings import load_config
from aggregator.core import Aggregator
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from aggregator._app.cli import main; main()"]


def queue_config(url: str, *, stalled_after: int = 30, wait_timeout: int = 60) -> str:
    return (
        f'[storage]\nurl = "{url}"\n'
        f"[queue]\nenabled = true\nstalled_after = {stalled_after}\n"
        f"wait_timeout = {wait_timeout}\n"
    )


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def published(folder: Path) -> dict[str, bytes]:
    out = folder / "public"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


class Workers:
    """`aggregator worker` processes started by a test, stopped (by pid) after it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, config: Path, *extra: str) -> subprocess.Popen[bytes]:
        index = len(self.processes)
        with (self.tmp_path / f"worker-{index}.log").open("wb") as log:
            process = subprocess.Popen(
                [*CLI, "--config", str(config), "worker", *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=config.parent,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        self.processes.append(process)
        return process

    def log(self, index: int) -> str:
        return (self.tmp_path / f"worker-{index}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def test_a_queue_needs_postgresql(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config("[queue]\nenabled = true\n"))
    assert "queue.enabled" in info.value.describe()
    assert "PostgreSQL" in info.value.describe()


def test_a_worker_without_the_queue_on_is_a_config_error(
    write_config: Callable[[str], Path],
) -> None:
    result = CliRunner().invoke(main, ["--config", str(write_config("")), "worker"])
    assert result.exit_code == 2
    assert "queue.enabled" in result.output


def test_two_workers_publish_what_one_process_on_sqlite_does(
    httpserver: HTTPServer,
    tmp_path: Path,
    pg_url: str,
    clock: Callable[[], datetime],
    workers: Workers,
) -> None:
    sources = serve_generated(httpserver, 6, entries=12)
    alone = load_config(write(tmp_path / "alone", sources))
    first = Aggregator(alone, clock=clock).run()
    assert not first.failed and first.count(Outcome.NEW) > 0

    config = write(tmp_path / "queued", queue_config(pg_url) + sources)
    settings = load_config(config)
    assert Aggregator(settings, clock=clock).queue_init() is True
    assert Aggregator(settings, clock=clock).queue_init() is False  # idempotent
    workers.start(config, "--concurrency", "2")
    workers.start(config, "--concurrency", "2")
    queued = Aggregator(settings, clock=clock).run()
    assert not queued.failed, queued.as_dict()
    assert [r.name for r in queued.sources] == [r.name for r in first.sources]
    assert [r.counts for r in queued.sources] == [r.counts for r in first.sources]
    assert published(tmp_path / "queued") == published(tmp_path / "alone")
    # Every source went through a worker: each fetched it once, none here.
    logs = workers.log(0) + workers.log(1)
    for index in range(6):
        assert logs.count(f"feed-{index}: 12 entries read") == 1, logs
    # Asked again, the workers get 304s or the same bytes: nothing new, nothing written.
    again = Aggregator(settings, clock=clock).run()
    assert not again.failed and again.count(Outcome.NEW) == 0
    assert again.feeds_written == 0
