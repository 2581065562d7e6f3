"""lemon24/reader on the benchmark's served feeds: the peer ``python -m benchmarks`` compares with.

Owns the reader half of the side-by-side rows ("same 40 feeds"): a fresh reader database,
the very URLs the aggregator run fetched, ``add_feed`` for each and one
``update_feeds(workers=2)`` (reader's threads fetching, its bundled feedparser parsing,
SQLite storing), timed whole, with CPU time and peak memory, in a process of its own.
It counts what reader stored and which feeds reader marked broken, so a short count is
reported, never divided into a rate as if nothing happened.

reader is in the ``bench`` extra, never a runtime dependency, and nothing in ``aggregator``
imports this module. Without reader the benchmark still runs: :func:`missing` says what
to install, and the reader row says it instead of a time.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

#: reader's fetching threads, as in issue 14's measurement (one per core here).
WORKERS = 2
INSTALL = "pip install -e '.[bench]'"
#: reader 3.x parses with a feedparser of its own that imports ``sgmllib`` (sgmllib3k);
#: feedparser 6.0.12+, which aggregator installs, no longer brings that module along.
MODULES = ("reader", "sgmllib")


def missing() -> str | None:
    """Why the peer cannot run here (and how to fix it), or None when it can."""
    absent = [name for name in MODULES if importlib.util.find_spec(name) is None]
    if absent:
        return f"{' and '.join(absent)} not installed: {INSTALL}"
    return None


def write_job(folder: Path, urls: list[str], *, workers: int = WORKERS) -> Path:
    """The peer's instructions for :func:`scenario`, in a fresh folder (a fresh database)."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "reader.sqlite"
    if database.exists():
        raise SystemExit(f"{database} exists: the peer needs a fresh database")
    job = folder / "reader-job.json"
    job.write_text(
        json.dumps({"database": str(database), "urls": urls, "workers": workers}),
        encoding="utf-8",
    )
    return job


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def scenario(job_path: str) -> dict[str, Any]:
    """Run in a fresh process: reader's whole first update of the job's feeds."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    try:
        import reader
        import sgmllib  # noqa: F401  (imported lazily by reader's parser: fail here, not mid-run)
    except ImportError as err:
        return {"missing": f"{err}: {INSTALL}"}

    cpu = time.process_time()
    start = time.perf_counter()
    with reader.make_reader(job["database"]) as peer:
        for url in job["urls"]:
            peer.add_feed(url)
        peer.update_feeds(workers=job["workers"])
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        stored = peer.get_entry_counts().total
        broken = [
            f"{feed.url}: {feed.last_exception.value_str if feed.last_exception else '?'}"
            for feed in peer.get_feeds(broken=True)
        ]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
        "entries": stored,
        "broken": broken,
        "version": reader.__version__,
        "workers": job["workers"],
    }


def mismatch(result: dict[str, Any], expected: int) -> str | None:
    """What went wrong with a peer run that did not store every served entry, or None."""
    if result["entries"] == expected and not result["broken"]:
        return None
    problem = f"reader stored {result['entries']:,} of {expected:,} entries"
    if result["broken"]:
        failed = len(result["broken"])
        problem += (
            f"; {failed} feed{'s' if failed > 1 else ''} failed, first: {result['broken'][0]}"
        )
    return problem
