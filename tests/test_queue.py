"""The job queue ([queue], `aggregator worker`): real worker processes, a real
PostgreSQL cluster, feeds from a real HTTP server on 127.0.0.1.

A run with workers must store, publish and mail what a run without them does; a worker
killed mid-run must cost nothing but time; per-host limits must hold across workers.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import serve_generated
from pytest_httpserver import HTTPServer
from rawserver import serve
from test_run import table_counts

from aggregator._app.cli import main
from aggregator._update.decide import Outcome
from aggregator._update.queue import outcome as wire
from aggregator.config.settings import Settings, load_config
from aggregator.core import Aggregator, RunSummary
from aggregator.errors import ConfigError
from benchmarks import feeds as generator

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T07:30:00+00:00"
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


@pytest.mark.sqlite_only(reason="checks the error a queue on SQLite storage gets")
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


def wait_for_workers(settings: Settings, count: int, workers: Workers) -> None:
    """Until ``count`` workers have registered (started, schema seen); no time limit of
    its own: the test's timeout stops a worker that never comes."""
    while Aggregator(settings).queue_status()["workers"] < count:
        for process in workers.processes:
            assert process.poll() is None, workers.log(workers.processes.index(process))
        time.sleep(0.1)


class SlowHost:
    """One host that answers every feed slowly, counting requests in progress."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.starts: list[float] = []

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.starts.append(time.monotonic())
        time.sleep(self.seconds)
        with self.lock:
            self.active -= 1
        index = int(request.path.rsplit("/", 1)[-1])
        body = generator.feed_bytes(index, entries=5)
        request.send_response(200)
        request.send_header("Content-Type", "application/xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


def ours(counts: dict[str, int]) -> dict[str, int]:
    """Row counts of aggregator's tables (procrastinate's keep their own history)."""
    return {table: n for table, n in counts.items() if not table.startswith("procrastinate_")}


def slow_sources(url: str, count: int) -> str:
    return "\n".join(
        f'[[sources]]\nname = "feed-{i}"\nkind = "{generator.feed_kind(i)}"\n'
        f'url = "{url}/feeds/{i}"\ncategories = ["{generator.feed_category(i)}"]\n'
        for i in range(count)
    )


def test_per_host_limits_hold_across_workers(
    tmp_path: Path, pg_url: str, clock: Callable[[], datetime], workers: Workers
) -> None:
    host = SlowHost(0.5)
    with serve(host.handle) as url:
        fetch = '[fetch]\nper_host = 2\nmin_interval = { "127.0.0.1" = 0.2 }\n'
        config = write(tmp_path / "site", queue_config(pg_url) + fetch + slow_sources(url, 8))
        settings = load_config(config)
        # No `queue init`: workers on a new database make what they need themselves.
        for _ in range(2):
            workers.start(config, "--concurrency", "4")
        wait_for_workers(settings, 2, workers)
        summary = Aggregator(settings, clock=clock).run()
    assert not summary.failed, summary.as_dict()
    # Eight threads in two processes wanted the host at once: two slots, never more.
    assert host.peak == 2
    gaps = [b - a for a, b in zip(host.starts, host.starts[1:], strict=False)]
    # Starts reserved 0.2 s apart on the database's clock, seen with a loaded machine's
    # jitter by the server (without the interval, pairs would arrive together).
    assert len(gaps) == 7 and min(gaps) >= 0.15, gaps
    assert "entries read" in workers.log(0) and "entries read" in workers.log(1)


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, pg_url: str, clock: Callable[[], datetime], workers: Workers
) -> None:
    host = SlowHost(1.0)
    with serve(host.handle) as url:
        sources = slow_sources(url, 6)
        alone = load_config(write(tmp_path / "alone", sources))
        reference = Aggregator(alone, clock=clock).run()
        assert not reference.failed
        config = write(tmp_path / "site", queue_config(pg_url, stalled_after=2) + sources)
        settings = load_config(config)
        Aggregator(settings).queue_init()
        doomed = workers.start(config, "--concurrency", "1")
        workers.start(config, "--concurrency", "1")
        wait_for_workers(settings, 2, workers)
        result: list[RunSummary] = []
        coordinator = threading.Thread(
            target=lambda: result.append(Aggregator(settings, clock=clock).run())
        )
        coordinator.start()
        while "Starting job" not in workers.log(0):
            time.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)  # mid-job: its answer takes a second
        coordinator.join()
        [summary] = result
        assert not summary.failed, summary.as_dict()
        # Its job was put back and done by the other worker: every source once.
        assert [r.counts for r in summary.sources] == [r.counts for r in reference.sources]
        counts = ours(table_counts(settings.storage))
        for table in ("entries", "entry_sources", "entry_categories"):
            assert counts[table] == table_counts(alone.storage)[table], table
        # Run again: every entry is known; nothing is stored twice.
        again = Aggregator(settings, clock=clock).run()
    assert not again.failed and again.count(Outcome.NEW) == 0
    assert ours(table_counts(settings.storage)) == counts
    assert published(tmp_path / "site") == published(tmp_path / "alone")


def test_sources_no_worker_sends_back_are_failures_of_the_run_not_of_the_source(
    httpserver: HTTPServer, tmp_path: Path, pg_url: str, clock: Callable[[], datetime]
) -> None:
    sources = serve_generated(httpserver, 2, entries=3)
    settings = load_config(write(tmp_path / "site", queue_config(pg_url, wait_timeout=1) + sources))
    for cancelled in (0, 2):  # the second run finds the first one's jobs still waiting
        summary = Aggregator(settings, clock=clock).run()
        assert [r.name for r in summary.failed] == ["feed-0", "feed-1"]
        for report in summary.failed:
            assert "no worker sent it back within 1 s" in str(report.error)
        status = Aggregator(settings, clock=clock).queue_status()
        assert status["jobs"].get("todo") == 2
        assert status["jobs"].get("cancelled", 0) == cancelled
    # Not the sources' fault: no failure is counted against them, no rest imposed.
    health = Aggregator(settings, clock=clock).status()
    assert health is not None
    assert all(row.consecutive_failures == 0 for row in health.health.values())
    assert httpserver.log == []  # nobody fetched anything


def test_queue_status_and_init_from_the_cli(tmp_path: Path, pg_url: str) -> None:
    config = write(tmp_path / "site", queue_config(pg_url))
    runner = CliRunner()
    status = runner.invoke(main, ["--config", str(config), "queue", "status"])
    assert status.exit_code == 0, status.output
    assert "No job queue yet" in status.output
    init = runner.invoke(main, ["--config", str(config), "queue", "init"])
    assert init.exit_code == 0 and "Created the job queue." in init.output
    again = runner.invoke(main, ["--config", str(config), "queue", "init"])
    assert "there already" in again.output
    status = runner.invoke(main, ["--config", str(config), "queue", "status"])
    assert "Jobs: none" in status.output and "Workers: 0 alive, 0 stalled" in status.output


def test_a_job_for_a_source_the_worker_does_not_know_is_that_sources_error(
    tmp_path: Path, pg_url: str
) -> None:
    from aggregator._update.queue.jobs import Job, Work

    settings = load_config(write(tmp_path / "site", queue_config(pg_url)))
    Aggregator(settings).queue_init()
    work = Work(settings, concurrency=1, name="test")
    try:
        job = Job("run-1", "elsewhere", "http://127.0.0.1:9/x", None, None, NOW, "2026-11-23")
        outcome = work.outcome(job)
        assert outcome.fetched is None and outcome.read is None
        assert "not in the worker's config" in str(outcome.error)
        # Kept once: a retried job finds it there and does nothing.
        assert work.run(job) is True
        assert work.run(job) is False
    finally:
        work.close()


def test_an_error_that_would_not_pickle_travels_as_its_name_and_text() -> None:
    from aggregator._update.queue.outcome import portable

    class Local(Exception):  # a class pickle cannot find by name
        pass

    sent = portable(Local("parser bug"))
    assert isinstance(sent, RuntimeError) and str(sent) == "Local: parser bug"
    error = ConfigError("bad", key="x")
    assert portable(error) is error


class _Evil:
    """A pickle that runs a command when plain pickle.loads reads it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_an_outcome_row_naming_code_is_refused_unbuilt(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    decoded = wire.decode(wire.encode(wire.Outcome(now=now, error=ValueError("bad"))))
    assert decoded is not None and decoded.now == now and isinstance(decoded.error, ValueError)
    marker = tmp_path / "ran"
    evil = _Evil(marker)
    pickle.loads(pickle.dumps(evil))  # what plain unpickling would do
    assert marker.exists()
    marker.unlink()
    for payload in (
        pickle.dumps((wire.VERSION, evil)),
        pickle.dumps((wire.VERSION, wire.Outcome(now=now, read=evil))),  # type: ignore[arg-type]
        pickle.dumps((wire.VERSION, subprocess.Popen)),
    ):
        assert wire.decode(payload) is None
    assert not marker.exists()
