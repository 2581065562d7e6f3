"""Time ``aggregator serve`` answering feed readers: full answers, gzip, and 304s.

Run: ``python -m benchmarks.serve``. Serves one 100-entry feed from a temporary folder
over loopback and prints requests per second and bytes per answer for a plain 200, a
gzip 200 and a conditional 304, with one keep-alive client. This is what polling feed
readers cost the server (and why 304s and gzip matter).
"""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from aggregator._app.serve import FeedServer
from aggregator._output.feedwriter import build_feed
from aggregator._output.publish import write_atomic
from benchmarks.publish import BASE, sample_entries

REQUESTS = 500


def measure(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[float, int, int]:
    status = size = 0
    start = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(url, headers=headers)
        status, size = response.status_code, len(response.content)
    return REQUESTS / (time.perf_counter() - start), status, size


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        feed = build_feed(
            sample_entries(100),
            category="cs.AI",
            title="bench",
            base_url=BASE,
            self_href=f"{BASE}feeds/cs.AI.atom",
            fallback_updated=datetime.now(UTC),
        )
        write_atomic(root / "feeds" / "cs.AI.atom", feed)
        server = FeedServer(root, ("127.0.0.1", 0))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = server.url + "feeds/cs.AI.atom"
        try:
            # Raw bytes: httpx would otherwise decompress and we want wire sizes.
            with httpx.Client(headers={"Accept-Encoding": "identity"}) as client:
                etag = client.get(url).headers["etag"]
                gzip_etag = client.get(url, headers={"Accept-Encoding": "gzip"}).headers["etag"]
                cases = {
                    "200 plain": {},
                    "200 gzip": {"Accept-Encoding": "gzip"},
                    "304 If-None-Match": {"If-None-Match": etag},
                    "304 gzip If-None-Match": {
                        "Accept-Encoding": "gzip",
                        "If-None-Match": gzip_etag,
                    },
                }
                print(f"feed of 100 entries, {len(feed):,} bytes; {REQUESTS} requests each")
                for name, headers in cases.items():
                    with client.stream("GET", url, headers=headers) as response:
                        wire = len(b"".join(response.iter_raw()))
                    rate, status, _ = measure(client, url, headers)
                    print(f"{name:24} {status}  {wire:>7,} bytes on the wire  {rate:7.0f} req/s")
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
