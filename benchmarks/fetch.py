"""Time fetching 500 feeds over HTTP: a first run, and a rerun where nothing changed.

Run: ``python -m benchmarks.fetch [FEEDS]``. Serves FEEDS (default 500) generated RSS
feeds of 20 items on 127.0.0.1 from a threaded server that answers conditional
requests with 304, then times

- the bare downloads (the Fetcher alone, no parsing): what the network costs;
- a first ``fetch`` run (download, decode, parse, normalise, dedup, store);
- a rerun where every feed answers 304 Not Modified.

The issue #3 targets: the rerun at least 20 times faster than the first run, and the
first run bound by parsing (bare downloads a small share of it).
"""

from __future__ import annotations

import hashlib
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process, Queue
from pathlib import Path
from typing import ClassVar

from aggregator._fetch.http import Fetcher
from aggregator.config.settings import load_config
from aggregator.core import run
from benchmarks.feeds import _WORDS, answer

ITEMS = 20


def _text(number: int, item: int) -> str:
    """A distinct 60-word abstract per item: copies would all be linked as duplicates."""
    rng = random.Random(number * 1000 + item)
    return " ".join(rng.choice(_WORDS) for _ in range(60)) + "."


def feed(number: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {number} item {i}: a study of something</title>"
        f"<link>https://site{number}.example.org/posts/{i}</link>"
        f"<guid>https://site{number}.example.org/posts/{i}</guid>"
        f"<pubDate>Mon, 23 Nov 2026 0{i % 10}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;{_text(number, i)}&lt;/p&gt;"
        "</description></item>"
        for i in range(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {number}</title><link>https://site{number}.example.org/</link>"
        f"{items}</channel></rss>"
    ).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall
    bodies: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self) -> None:
        body, etag = self.bodies[self.path]
        answer(self, body, etag, "application/rss+xml; charset=utf-8")

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(count: int, ports: Queue[int]) -> None:
    """The feed server, in its own process so that it does not share the client's GIL."""
    for number in range(count):
        body = feed(number)
        Handler.bodies[f"/feed/{number}"] = (body, f'"{hashlib.sha1(body).hexdigest()}"')
    ThreadingHTTPServer.request_queue_size = 256  # the default 5 drops concurrent connects
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ports.put(server.server_address[1])
    server.serve_forever()


def main(count: int = 500) -> None:
    ports: Queue[int] = Queue()
    server = Process(target=serve, args=(count, ports), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=60)}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "aggregator.toml"
        # Every feed is on one host here, so the per-host limit is raised to the pool's.
        text = '[storage]\ndatabase = "bench.db"\n[fetch]\nworkers = 8\nper_host = 8\n'
        for number in range(count):
            text += (
                f'[[sources]]\nname = "feed-{number}"\nurl = "{base}/feed/{number}"\n'
                'categories = ["bench"]\n'
            )
        path.write_text(text, encoding="utf-8")
        settings = load_config(path)
        now = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)

        begin = time.perf_counter()
        with Fetcher(settings.fetch) as fetcher, ThreadPoolExecutor(8) as pool:
            sizes = list(
                pool.map(lambda s: len(fetcher.get(s.name, str(s.url)).data), settings.sources)
            )
        bare = time.perf_counter() - begin

        def timed() -> tuple[float, int, int]:
            begin = time.perf_counter()
            summary = run(
                settings,
                clock=lambda: now,
                run_date=date(2026, 11, 23),
                do_publish=False,
                do_digest=False,
            )
            took = time.perf_counter() - begin
            assert not summary.failed, summary.failed[:3]
            new = sum(r.counts["new"] for r in summary.sources)
            return took, new, sum(1 for r in summary.sources if r.not_modified)

        first, new, _ = timed()
        rerun, _, not_modified = timed()
    server.terminate()
    server.join()
    print(f"{count} feeds of {ITEMS} items, {sum(sizes) / count / 1024:.1f} KiB each")
    print(f"bare downloads (no parsing): {bare:.2f} s ({bare / first:.0%} of the first run)")
    print(f"first run:  {first:.2f} s ({new} new entries)")
    print(f"rerun:      {rerun:.2f} s ({not_modified} not modified)")
    print(f"rerun is {first / rerun:.1f}x faster (target: at least 20x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
