"""Scaling out: one process on SQLite against the job queue's workers on PostgreSQL.

``python -m benchmarks.scale`` serves ``--feeds`` generated feeds (2,000) of
``--entries`` entries from ``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...;
one server each, in a process of their own), with per-host limits (``per_host = 2``
and ``min_interval``), and times a first ``aggregator run --no-send`` of them:

- in one process on SQLite, and in one process on PostgreSQL, as without ``[queue]``;
- as the coordinator of 1, 2 and 4 ``aggregator worker`` processes (``--concurrency``
  4 each) on a throwaway PostgreSQL cluster (``tests/pgserver.py``: fsync off);
- with 2 workers, one killed with SIGKILL once a third of the sources are back
  (``stalled_after = 5``): what a dead worker costs.

Each scenario gets a new database and output folder; every process is a fresh one.
Reported: wall time, entries/s (new entries stored over wall time), the time from the
run's start to its first published feed file, and CPU seconds of the run's process
and of the workers and of the PostgreSQL server (the machine is shared: CPU time says what the work
cost whatever else ran). Figures, never assertions; it takes minutes (``--feeds 200`` for a look).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path

from benchmarks import feeds as generator

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from aggregator._app.cli import main; main()"]
RUN_DATE = "2026-01-06"


# -- the feeds, from many loopback hosts ---------------------------------------------


def _serve(feeds: int, entries: int, hosts: int, conn: Connection) -> None:
    documents = {i: generator.feed_bytes(i, entries) for i in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                body = documents[int(self.path.rsplit("/", 1)[-1].removesuffix(".xml"))]
            except (KeyError, ValueError):
                self.send_error(404)
                return
            generator.answer(self, body, f'"{zlib.crc32(body):08x}"', "application/xml")

        def log_message(self, format: str, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), Handler) for h in range(hosts)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send([server.server_address[1] for server in servers])
    conn.recv()
    for server in servers:
        server.shutdown()


@contextmanager
def feed_hosts(feeds: int, entries: int, hosts: int) -> Iterator[list[str]]:
    """Serve the feeds; yields each feed's URL (feed i on host i % hosts)."""
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    process = context.Process(target=_serve, args=(feeds, entries, hosts, child), daemon=True)
    process.start()
    ports = conn.recv()
    try:
        yield [
            f"http://127.0.0.{i % hosts + 1}:{ports[i % hosts]}/feeds/{i}.xml" for i in range(feeds)
        ]
    finally:
        conn.send("stop")
        process.join(timeout=10)


def config_text(urls: list[str], hosts: int, interval: float, storage: str) -> str:
    gaps = ", ".join(f'"127.0.0.{h + 1}" = {interval}' for h in range(hosts))
    text = (
        f"{storage}\n[fetch]\nper_host = 2\nmin_interval = {{ {gaps} }}\n"
        '[publish]\nformats = ["atom"]\n'
    )
    for index, url in enumerate(urls):
        text += (
            f'\n[[sources]]\nname = "feed-{index}"\nkind = "{generator.feed_kind(index)}"\n'
            f'url = "{url}"\ncategories = ["{generator.feed_category(index)}"]\n'
        )
    return text


# -- one timed run -------------------------------------------------------------------


@dataclass
class Timing:
    scenario: str
    wall: float
    new: int
    failed: int
    first_feed: float | None
    cpu_run: float
    cpu_workers: float
    cpu_db: float = 0.0
    note: str = ""

    @property
    def rate(self) -> float:
        return self.new / self.wall if self.wall else 0.0


def _child_run(config: str) -> None:
    """In a fresh process: one run of ``config``; prints its counts as JSON."""
    from datetime import UTC, date, datetime

    from aggregator._update.decide import Outcome
    from aggregator.config.settings import load_config
    from aggregator.core import Aggregator

    settings = load_config(Path(config))
    summary = Aggregator(settings, clock=lambda: datetime.now(UTC)).run(
        run_date=date.fromisoformat(RUN_DATE)
    )
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "new": summary.count(Outcome.NEW),
                "failed": len(summary.failed),
                # Its parsing processes included (SQLite's run reads in a pool).
                "cpu": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
            }
        )
    )


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc), its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cluster_cpu(folder: Path) -> float:
    """CPU seconds the PostgreSQL cluster in ``folder`` has used: its postmaster, the
    backends that ended (their time is the postmaster's children's) and those alive."""
    postmaster = int((folder / "data" / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            child = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if child[1] == str(postmaster):
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _first_feed(folder: Path, started: float, found: list[float], stop: threading.Event) -> None:
    feeds = folder / "public" / "feeds"
    while not stop.is_set():
        if feeds.is_dir() and any(p.suffix == ".atom" for p in feeds.iterdir()):
            found.append(time.monotonic() - started)
            return
        time.sleep(0.01)


def timed_run(config: Path, scenario: str, kill: Callable[[], None] | None = None) -> Timing:
    """Run ``config`` in a fresh process; ``kill`` is called while it runs (or None)."""
    started = time.monotonic()
    found: list[float] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=_first_feed, args=(config.parent, started, found, stop), daemon=True
    )
    watcher.start()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale", "--child-run", str(config)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    if kill is not None:
        kill()
    out, _ = process.communicate()
    wall = time.monotonic() - started
    stop.set()
    counts = json.loads(out.strip().splitlines()[-1])
    return Timing(
        scenario, wall, counts["new"], counts["failed"], found[0] if found else None,
        counts["cpu"], 0.0,
    )  # fmt: skip


# -- the scenarios -------------------------------------------------------------------


class Workers:
    def __init__(self, config: Path, count: int, concurrency: int) -> None:
        self.processes = [
            subprocess.Popen(
                [*CLI, "--config", str(config), "worker", "--concurrency", str(concurrency)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=config.parent,
            )
            for _ in range(count)
        ]

    def cpu(self) -> float:
        return sum(_cpu_of(p.pid) for p in self.processes if p.poll() is None)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)


def wait_registered(url: str, count: int) -> None:
    import psycopg

    while True:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_workers"
                " WHERE last_heartbeat > now() - interval '10 seconds'"
            ).fetchone()
        if row and row[0] >= count:
            return
        time.sleep(0.2)


def queued_run(
    work: Path, server: object, urls: list[str], args: argparse.Namespace, count: int,
    *, kill_one: bool = False,
) -> Timing:  # fmt: skip
    name = f"q{count}{'k' if kill_one else ''}_{int(time.time())}"
    url = server.create_database(name)  # type: ignore[attr-defined]
    folder = work / name
    folder.mkdir()
    storage = (
        f'[storage]\nurl = "{url}"\n[queue]\nenabled = true\nstalled_after = 5\n'
        "wait_timeout = 3600\n"
    )
    config = folder / "aggregator.toml"
    config.write_text(config_text(urls, args.hosts, args.interval, storage), encoding="utf-8")
    subprocess.run([*CLI, "--config", str(config), "queue", "init"], check=True, cwd=folder)
    workers = Workers(config, count, args.concurrency)
    try:
        wait_registered(url, count)
        kill = _killer(url, workers, len(urls)) if kill_one else None
        label = f"coordinator + {count} worker{'s' if count > 1 else ''}, PostgreSQL"
        if kill_one:
            label += ", one SIGKILLed"
        cpu_before = workers.cpu()
        timing = timed_run(config, label, kill)
        timing.cpu_workers = workers.cpu() - cpu_before
    finally:
        workers.stop()
    return timing


def _killer(url: str, workers: Workers, total: int) -> Callable[[], None]:
    import psycopg

    def kill() -> None:
        while True:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM queue_results").fetchone()
            if row and row[0] >= total // 3:
                break
            time.sleep(0.05)
        workers.processes[0].send_signal(signal.SIGKILL)

    return kill


def sqlite_run(work: Path, urls: list[str], args: argparse.Namespace) -> Timing:
    folder = work / f"sqlite_{int(time.time())}"
    folder.mkdir()
    config = folder / "aggregator.toml"
    storage = '[storage]\ndatabase = "aggregator.db"\n'
    config.write_text(config_text(urls, args.hosts, args.interval, storage), encoding="utf-8")
    return timed_run(config, "one process, SQLite (no queue)")


def postgres_run(work: Path, server: object, urls: list[str], args: argparse.Namespace) -> Timing:
    name = f"single_{int(time.time())}"
    url = server.create_database(name)  # type: ignore[attr-defined]
    folder = work / name
    folder.mkdir()
    config = folder / "aggregator.toml"
    storage = f'[storage]\nurl = "{url}"\n'
    config.write_text(config_text(urls, args.hosts, args.interval, storage), encoding="utf-8")
    return timed_run(config, "one process, PostgreSQL (no queue)")


def table(rows: list[Timing]) -> str:
    lines = [
        "| scenario | wall | entries/s | first feed | CPU run + workers + database | note |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        first = f"{row.first_feed:.1f} s" if row.first_feed is not None else "-"
        failed = f"{row.failed} sources failed; " if row.failed else ""
        lines.append(
            f"| {row.scenario} | {row.wall:.1f} s | {row.rate:,.0f} | {first} |"
            f" {row.cpu_run:.1f} + {row.cpu_workers:.1f} + {row.cpu_db:.1f} s"
            f" | {failed}{row.new:,} new"
            f"{'; ' + row.note if row.note else ''} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--feeds", type=int, default=2000, help="feeds (2000)")
    parser.add_argument("--entries", type=int, default=10, help="entries per feed (10)")
    parser.add_argument("--hosts", type=int, default=20, help="loopback hosts (20)")
    parser.add_argument(
        "--interval", type=float, default=0.05, help="min_interval per host, seconds (0.05)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker (4)")
    parser.add_argument(
        "--workers", default="1,2,4", help="worker counts to run, comma-separated (1,2,4)"
    )
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL scenario")
    parser.add_argument("--child-run", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_run:
        _child_run(args.child_run)
        return 0
    # Stopped (SIGTERM), still stop the cluster, the workers and the feed server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.path.insert(0, str(ROOT / "tests"))
    import pgserver

    rows: list[Timing] = []
    print(
        f"{args.feeds} feeds x {args.entries} entries from {args.hosts} hosts,"
        f" per_host = 2, min_interval = {args.interval} s; {os.cpu_count()} cores",
        file=sys.stderr,
    )
    server = pgserver.start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="aggregator-scale-") as tmp,
            feed_hosts(args.feeds, args.entries, args.hosts) as urls,
        ):
            work = Path(tmp)
            scenarios: list[Callable[[], Timing]] = [
                lambda: sqlite_run(work, urls, args),
                lambda: postgres_run(work, server, urls, args),
                *(
                    partial(queued_run, work, server, urls, args, int(count))
                    for count in args.workers.split(",")
                ),
            ]
            if not args.no_kill:
                scenarios.append(partial(queued_run, work, server, urls, args, 2, kill_one=True))
            for scenario in scenarios:
                before = cluster_cpu(server.folder)
                rows.append(scenario())
                rows[-1].cpu_db = cluster_cpu(server.folder) - before
                print(table(rows[-1:]), file=sys.stderr)
    finally:
        server.stop()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
