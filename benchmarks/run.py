"""The whole pipeline against feeds served from 127.0.0.1 (``python -m benchmarks``).

Prints one table (see README, "Performance"): a first ``aggregator run`` (fetch, parse,
dedup, store, digest, publish) of ``--feeds`` feeds of ``--entries`` entries, a rerun
with nothing changed, the same first run with ``[fetch] parser = "feedparser"``, one
big feed for peak memory, publishing the category feeds into an empty folder,
rendering the first run's digests into an empty folder (time and peak memory), and
the side by side with lemon24/reader (:mod:`benchmarks.peer`, the ``bench`` extra):
aggregator's whole first run and then reader's first update of the same first
``--peer-feeds`` served feeds, on fresh databases, and the ratio of their entries/s. Every
measurement runs in a fresh process, so peak memory (``ru_maxrss``) is that scenario's
own; the feed server is another process.

Figures, never assertions: the test suite checks behaviour, this prints speed.
``python -m benchmarks --feeds 20`` is a quick run (about a minute).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from benchmarks import feeds as generator
from benchmarks import peer

RUN_DATE = date(2026, 1, 6)
NOW = datetime(2026, 1, 6, 7, 30, tzinfo=UTC)


@dataclass
class Figure:
    what: str
    value: str
    note: str = ""


class Figures(list[Figure]):
    """The table's rows; each is also shown on stderr as soon as it is measured."""

    def append(self, figure: Figure) -> None:
        print(f"  {figure.what}: {figure.value}  {figure.note}", file=sys.stderr)
        super().append(figure)


def _clock() -> datetime:
    return NOW


def _config(folder: Path, urls: list[tuple[int, str]], *, parser: str) -> Path:
    lines = [
        "[storage]",
        'database = "aggregator.db"',
        "[publish]",
        'output_dir = "public"',
        "[fetch]",
        "max_bytes = 200000000",
        "timeout = 120",
        f'parser = "{parser}"',
    ]
    for index, url in urls:
        lines += [
            "[[sources]]",
            f'name = "feed-{index}"',
            f'kind = "{generator.feed_kind(index)}"',
            f'url = "{url}"',
            f'categories = ["{generator.feed_category(index)}"]',
        ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "aggregator.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(who).ru_maxrss * scale / 1e6


def _children_cpu() -> float:
    """CPU seconds of the worker processes this process has waited for (its parsing pool)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _worker_peak_mb() -> float:
    """The largest peak of a worker process of this scenario (parsing, [fetch] processes)."""
    return _peak_mb(resource.RUSAGE_CHILDREN)


# -- scenarios: each runs in a fresh process ---------------------------------------------


def _scenario_run(config: str) -> dict[str, Any]:
    """``aggregator run --no-send`` (``Aggregator.run``), with the run's own stage times."""
    from aggregator._update.decide import Outcome
    from aggregator.config.settings import load_config
    from aggregator.core import Aggregator

    settings = load_config(Path(config))
    cpu = time.process_time()
    workers_cpu = _children_cpu()
    start = time.perf_counter()
    summary = Aggregator(settings, clock=_clock).run(run_date=RUN_DATE, send=False)
    end = time.perf_counter()
    stages = summary.stages
    return {
        "seconds": end - start,
        "cpu": time.process_time() - cpu,
        "workers_cpu": _children_cpu() - workers_cpu,
        "ingest": stages.get("ingest", 0.0),
        "search": stages.get("search index", 0.0) + stages.get("enrich", 0.0),
        "digest": stages.get("digests", 0.0),
        "publish": stages.get("feeds", 0.0),
        "beside": summary.digests_beside,
        "peak_mb": _peak_mb(),
        "worker_peak_mb": _worker_peak_mb(),
        "failed": [r.error for r in summary.failed],
        "entries": sum(summary.count(o) for o in Outcome),
        "new": summary.count(Outcome.NEW),
        "duplicate": summary.count(Outcome.DUPLICATE),
        "unchanged": summary.count(Outcome.UNCHANGED),
        "not_modified": sum(1 for report in summary.sources if report.not_modified),
        "sources": len(summary.sources),
        "feeds_written": summary.feeds_written,
        # Which reader read each document (SourceReport.reader): the fast path's share.
        "readers": dict(Counter(r.reader for r in summary.sources if r.reader)),
    }


def _scenario_parse(config: str) -> dict[str, Any]:
    """Parsing alone, both paths, on ten generated feeds (CPU seconds)."""
    from aggregator._sources import ParseOptions, fast_feed, feed

    feeds, entries = (int(part) for part in config.split("x"))
    documents = [generator.feed_bytes(i, entries) for i in range(feeds)]
    options = ParseOptions(location="http://127.0.0.1:8000/feeds/0.xml")
    result: dict[str, Any] = {"entries": feeds * entries}
    fast_feed.parse_fast(documents[0], options)  # warm up: imports, compiled patterns
    feed.parse(documents[0], source="bench", options=options)
    for name, parse in (("fast", fast_feed.parse_fast), ("feedparser", None)):
        start = time.process_time()
        for data in documents:
            if parse is None:
                feed.parse(data, source="bench", options=options)
            else:
                parse(data, options)
        result[name] = time.process_time() - start
    return result


def _scenario_parse_big(config: str) -> dict[str, Any]:
    """Peak memory of parsing one big feed with the fast path, beyond holding its bytes."""
    from aggregator._sources import ParseOptions, fast_feed

    data = Path(config).read_bytes()
    before = _peak_mb()
    parsed = fast_feed.parse_fast(data, ParseOptions())
    return {
        "mb": len(data) / 1e6,
        "entries": len(parsed.entries),
        "before_mb": before,
        "peak_mb": _peak_mb(),
    }


def _scenario_publish(config: str) -> dict[str, Any]:
    from aggregator._storage.sqlite import Store
    from aggregator.config.settings import load_config
    from aggregator.core import publish_feeds

    settings = load_config(Path(config))
    shutil.rmtree(settings.publish.output_dir, ignore_errors=True)
    with Store(settings.storage.database) as store:
        categories = len(store.categories())
        start = time.perf_counter()
        written, total = publish_feeds(settings, store, clock=_clock)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "written": written, "total": total, "categories": categories}


def _scenario_digest(config: str) -> dict[str, Any]:
    """The first run's digests (every day it wrote), rendered into an empty folder."""
    from aggregator._storage.sqlite import Store
    from aggregator.config.settings import load_config
    from aggregator.core import build_digest, write_digests

    settings = load_config(Path(config))
    folder = settings.publish.output_dir / "digests"
    shutil.rmtree(folder, ignore_errors=True)
    with Store(settings.storage.database) as store:
        before = _peak_mb()
        start = time.perf_counter()
        _, days = write_digests(settings, store, set())
        seconds = time.perf_counter() - start
        entries = sum(build_digest(settings, store, day).entry_count for day in days)
    html = sum(path.stat().st_size for path in folder.glob("*/index.html"))
    return {
        "seconds": seconds,
        "days": len(days),
        "entries": entries,
        "html_mb": html / 1e6,
        "peak_mb": _peak_mb(),
        "before_mb": before,
    }


def _in_fresh_process(function: Callable[[str], dict[str, Any]], config: Path) -> dict[str, Any]:
    """Run ``function(str(config))`` in a new process: its peak memory is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, str(config)).result()


# -- the benchmark ------------------------------------------------------------------------


def _shares(counts: dict[str, int]) -> str:
    """``100 lxml (50 %), 100 arxiv (50 %)``: documents per reader, most first."""
    total = sum(counts.values())
    return ", ".join(
        f"{count} {reader} ({count / total:.0%})"
        for reader, count in sorted(counts.items(), key=lambda item: -item[1])
    )


def _rate(entries: int, seconds: float) -> str:
    return f"{entries / seconds:,.0f} entries/s" if seconds else "-"


def side_by_side(
    server: generator.FeedServer, feeds: int, entries: int, work: Path, figures: Figures
) -> None:
    """aggregator's first run, then reader's first update, on the first ``feeds`` served feeds.

    Both on fresh databases, each in a fresh process, one right after the other (aggregator
    first, always), so both meet the same machine load. aggregator's time is its whole run
    (fetch, parse, dedup, store, digests, publish: ``aggregator run --no-send``); reader's is
    ``add_feed`` and ``update_feeds(workers=2)`` (fetch, parse, store). Counts that differ
    from ``feeds`` x ``entries`` are shown in the rows and leave the ratio out.
    """
    folder = work / f"same-{feeds}"
    shutil.rmtree(folder, ignore_errors=True)  # fresh databases, even in a --keep folder
    urls = [(i, server.url(i)) for i in range(feeds)]
    total = feeds * entries
    label = f"same {feeds} feeds x {entries} entries"
    print(f"{label}: aggregator, then reader ...", file=sys.stderr)
    ours = _in_fresh_process(_scenario_run, _config(folder / "aggregator", urls, parser="auto"))
    _check(ours)
    ours_short = (
        "" if ours["entries"] == total else f"aggregator read {ours['entries']:,} of {total:,}"
    )
    figures.append(
        Figure(
            f"{label}: aggregator first run",
            f"{ours['seconds']:.1f} s",
            (f"{ours_short}; " if ours_short else "")
            + f"{_rate(total, ours['seconds'])}; the whole `aggregator run --no-send`:"
            f" fetch, parse, dedup, store, digests, publish; CPU {ours['cpu']:.1f} s"
            f" + worker processes {ours['workers_cpu']:.1f} s; peak {ours['peak_mb']:.0f} MB",
        )
    )
    absent = peer.missing()
    theirs = (
        {"missing": absent}
        if absent
        else _in_fresh_process(
            peer.scenario, peer.write_job(folder / "reader", [u for _, u in urls])
        )
    )
    if "missing" in theirs:
        figures.append(Figure(f"{label}: reader", "not run", theirs["missing"]))
        return
    theirs_short = peer.mismatch(theirs, total)
    figures.append(
        Figure(
            f"{label}: reader {theirs['version']}",
            f"{theirs['seconds']:.1f} s",
            (f"{theirs_short}; " if theirs_short else "")
            + f"{_rate(total, theirs['seconds'])}; add_feed + update_feeds(workers="
            f"{theirs['workers']}): fetch, parse (its feedparser), store; run after aggregator;"
            f" CPU {theirs['cpu']:.1f} s (threads included); peak {theirs['peak_mb']:.0f} MB",
        )
    )
    ratio = theirs["seconds"] / ours["seconds"]
    # On a shared machine wall time follows the load; CPU seconds (workers and threads
    # included on both sides) say how much work each did.
    ours_cpu = ours["cpu"] + ours["workers_cpu"]
    cpu = (
        f"; by CPU time {theirs['cpu'] / ours_cpu:.1f}x"
        f" ({ours_cpu:.1f} s against {theirs['cpu']:.1f} s)"
    )
    not_comparable = ours_short or theirs_short
    figures.append(
        Figure(
            f"{label}: aggregator / reader",
            "-" if not_comparable else f"{ratio:.1f}x",
            f"not comparable: {not_comparable}"
            if not_comparable
            else f"aggregator is {ratio:.1f}x reader's entries/s (aggregator's whole run,"
            " digests and publishing included, against reader's update)" + cpu,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--feeds", type=int, default=200, help="feeds in the run (200)")
    parser.add_argument("--entries", type=int, default=500, help="entries per feed (500)")
    parser.add_argument(
        "--big-entries", type=int, default=20_000, help="entries of the one big feed (20000)"
    )
    parser.add_argument(
        "--skip-feedparser", action="store_true", help="skip the feedparser-only run (slow)"
    )
    parser.add_argument(
        "--peer-feeds",
        type=int,
        default=40,
        help="feeds (the first N served) for the side-by-side with reader; 0 skips it (40)",
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="aggregator-bench-"))
    figures = Figures()
    try:
        print(
            f"Generating and serving {args.feeds} feeds x {args.entries} entries"
            f" and one of {args.big_entries} ...",
            file=sys.stderr,
        )
        with generator.FeedServer(args.feeds, args.entries, big_entries=args.big_entries) as server:
            urls = [(i, server.url(i)) for i in range(args.feeds)]
            total = args.feeds * args.entries
            mb = server.total_bytes / 1e6
            fast = _config(work / "fast", urls, parser="auto")

            print("first run ...", file=sys.stderr)
            first = _in_fresh_process(_scenario_run, fast)
            _check(first)
            figures.append(
                Figure(
                    f"first run, {args.feeds} feeds x {args.entries} entries",
                    f"{first['seconds']:.1f} s",
                    f"{_rate(total, first['seconds'])}; {first['new']:,} new,"
                    f" {first['duplicate']:,} duplicate; {mb:,.0f} MB served in all;"
                    f" CPU {first['cpu']:.1f} s",
                )
            )
            figures.append(
                Figure(
                    "  documents by reader",
                    _shares(first["readers"]),
                    "lxml: the fast path; feedparser: its fallback; arxiv: arXiv's reader",
                )
            )
            figures.append(
                Figure(
                    "  of which fetch, parse, dedup, store",
                    f"{first['ingest']:.1f} s",
                    _rate(total, first["ingest"]),
                )
            )
            figures.append(
                Figure(
                    "  of which the search index",
                    f"{first['search']:.1f} s",
                    "full-text index of every new entry, in bulk after ingest",
                )
            )
            if first["beside"]:
                figures.append(
                    Figure(
                        "  of which publishing, digests written beside it",
                        f"{first['publish'] + first['digest']:.1f} s",
                        f"feeds {first['publish']:.1f} s, then {first['digest']:.1f} s waiting"
                        " for the second process writing the digests (started after ingest)",
                    )
                )
            else:
                figures.append(
                    Figure(
                        "  of which digests", f"{first['digest']:.1f} s", "every entry, on its day"
                    )
                )
                figures.append(Figure("  of which publishing", f"{first['publish']:.1f} s"))
            figures.append(
                Figure(
                    "peak memory of the first run",
                    f"{first['peak_mb']:.0f} MB",
                    f"main process; each worker process (parsing; the digests beside) at most"
                    f" {first['worker_peak_mb']:.0f} MB",
                )
            )

            print("rerun ...", file=sys.stderr)
            rerun = _in_fresh_process(_scenario_run, fast)
            _check(rerun)
            figures.append(
                Figure(
                    "rerun, nothing changed",
                    f"{rerun['seconds']:.2f} s",
                    f"{rerun['not_modified']} of {rerun['sources']} feeds answered 304,"
                    f" {rerun['feeds_written']} files rewritten;"
                    f" fetch {rerun['ingest']:.2f} s, digests {rerun['digest']:.2f} s,"
                    f" publish {rerun['publish']:.2f} s",
                )
            )

            if args.peer_feeds:
                side_by_side(server, min(args.peer_feeds, args.feeds), args.entries, work, figures)

            print("publish ...", file=sys.stderr)
            published = _in_fresh_process(_scenario_publish, fast)
            figures.append(
                Figure(
                    f"publish {published['total']} feeds (latest 2 days, <= 2,000 entries each)"
                    " to an empty folder",
                    f"{published['seconds']:.2f} s",
                    f"{published['categories']} categories + all.atom",
                )
            )

            print("digest ...", file=sys.stderr)
            rendered = _in_fresh_process(_scenario_digest, fast)
            figures.append(
                Figure(
                    "render the first run's digests",
                    f"{rendered['seconds']:.2f} s",
                    f"{rendered['days']} days, {rendered['entries']:,} entries,"
                    f" {rendered['html_mb']:.1f} MB of HTML; peak memory"
                    f" {rendered['peak_mb']:.0f} MB ({rendered['before_mb']:.0f} MB before)",
                )
            )

            if args.big_entries:
                print("one big feed ...", file=sys.stderr)
                big = _config(work / "big", [(0, server.url("big"))], parser="auto")
                one = _in_fresh_process(_scenario_run, big)
                _check(one)
                figures.append(
                    Figure(
                        f"one feed of {args.big_entries:,} entries: peak memory",
                        f"{max(one['peak_mb'], one['worker_peak_mb']):.0f} MB",
                        f"the largest process; first run {one['seconds']:.1f} s;"
                        f" main process {one['peak_mb']:.0f} MB"
                        + (
                            f", largest worker process {one['worker_peak_mb']:.0f} MB"
                            if one["worker_peak_mb"]
                            else " (read there; no worker process)"
                        ),
                    )
                )

            print("parsing alone ...", file=sys.stderr)
            sample = f"{min(args.feeds, 10)}x{args.entries}"
            parsing = _in_fresh_process(_scenario_parse, Path(sample))
            figures.append(
                Figure(
                    f"parse only, {parsing['entries']:,} entries, fast path",
                    _rate(parsing["entries"], parsing["fast"]),
                    f"CPU time; feedparser {_rate(parsing['entries'], parsing['feedparser'])},"
                    f" {parsing['feedparser'] / parsing['fast']:.1f}x slower",
                )
            )
            if args.big_entries:
                big_file = work / "big.xml"
                big_file.write_bytes(generator.feed_bytes(0, args.big_entries))
                big_parse = _in_fresh_process(_scenario_parse_big, big_file)
                figures.append(
                    Figure(
                        f"parse only, one feed of {big_parse['entries']:,} entries"
                        f" ({big_parse['mb']:.0f} MB): peak memory",
                        f"{big_parse['peak_mb']:.0f} MB",
                        f"{big_parse['before_mb']:.0f} MB before parsing (Python, the bytes)",
                    )
                )

            if not args.skip_feedparser:
                print("first run with feedparser forced ...", file=sys.stderr)
                slow_config = _config(work / "feedparser", urls, parser="feedparser")
                slow = _in_fresh_process(_scenario_run, slow_config)
                _check(slow)
                figures.append(
                    Figure(
                        'first run, [fetch] parser = "feedparser"',
                        f"{slow['seconds']:.1f} s",
                        f"{_rate(total, slow['seconds'])};"
                        f" the fast path is {slow['seconds'] / first['seconds']:.1f}x faster",
                    )
                )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(_table(figures))
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python"
        f" {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    return 0


def _check(result: dict[str, Any]) -> None:
    if result["failed"]:
        raise SystemExit(f"benchmark run failed: {result['failed'][:3]}")


def _table(figures: list[Figure]) -> str:
    """A Markdown table, ready for the README."""
    rows = [("measure", "result", "details")] + [(f.what, f.value, f.note) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]

    def line(row: tuple[str, str, str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])
