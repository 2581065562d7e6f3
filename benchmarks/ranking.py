"""Ranking quality and speed: readers who liked papers of one topic, days of eight.

Run: ``python -m benchmarks.ranking [--history 2000] [--day 1000] [--readers 100]``.
Stores ``--history`` generated papers (``benchmarks.papers``: eight topics, titles and
abstracts written from templates and vocabularies of our own) on one day and ``--day``
more on the next, through a real run into a real SQLite file. Each reader likes
``--likes`` history papers of one topic (readers cycle through the topics). Then it
ranks the new day for every reader as a run and a send do (scores computed and
cached once per reader, then each reader's order) and reports:

- precision at 10 and at 20: the share of a reader's top entries that are of their
  topic (listing order: about 1/8), averaged over readers;
- the time to rank the day for all readers (the issue's target: under 5 s), and again
  with every score cached (a rerun).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import mean

from aggregator._enrich.ranker import Ranker
from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.core import run
from benchmarks.papers import TOPICS, Paper, papers, rss

DAY = date(2026, 11, 23)


def _config(folder: Path, readers: list[tuple[str, list[str]]]) -> Path:
    lines = [
        '[storage]\ndatabase = "db.sqlite"\n[dedup]\nenabled = false\n',
        '[[sources]]\nname = "history"\npath = "history.rss"\nentry_categories = true\n',
        '[[sources]]\nname = "day"\npath = "day.rss"\nentry_categories = true\n',
    ]
    for index, (_topic, liked) in enumerate(readers):
        links = ", ".join(f'"{link}"' for link in liked)
        lines.append(
            f'[[subscribers]]\nemail = "reader{index}@example.org"\n'
            f"[subscribers.interests]\nlike = [{links}]\n"
        )
    path = folder / "aggregator.toml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _store(folder: Path, history: list[Paper], day: list[Paper]) -> None:
    """Both days stored by real runs (no interests yet: nothing ranked while storing)."""
    start = datetime.combine(DAY - timedelta(days=1), datetime.min.time(), UTC)
    (folder / "history.rss").write_text(rss(history, day=start), encoding="utf-8")
    (folder / "day.rss").write_text("", encoding="utf-8")
    path = _config(folder, [])
    settings = load_config(path)
    run(settings, clock=lambda: start + timedelta(hours=6), run_date=DAY - timedelta(days=1))
    later = start + timedelta(days=1)
    (folder / "day.rss").write_text(rss(day, day=later), encoding="utf-8")
    run(settings, clock=lambda: later + timedelta(hours=6), run_date=DAY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ranking", description=__doc__)
    parser.add_argument("--history", type=int, default=2000, help="stored papers (2000)")
    parser.add_argument("--day", type=int, default=1000, help="papers of the ranked day (1000)")
    parser.add_argument("--readers", type=int, default=100, help="readers (100)")
    parser.add_argument("--likes", type=int, default=5, help="liked papers per reader (5)")
    args = parser.parse_args(argv)

    history = papers(args.history, seed=11, prefix="h")
    day = papers(args.day, seed=12, prefix="d")
    topics = sorted(TOPICS)
    rng = random.Random(13)
    readers: list[tuple[str, list[str]]] = []
    for index in range(args.readers):
        topic = topics[index % len(topics)]
        pool = [p.link for p in history if p.topic == topic]
        readers.append((topic, rng.sample(pool, args.likes)))
    topic_of = {p.title: p.topic for p in [*history, *day]}

    with tempfile.TemporaryDirectory(prefix="aggregator-ranking-") as work:
        folder = Path(work)
        print(f"Storing {args.history} + {args.day} generated papers ...", file=sys.stderr)
        _store(folder, history, day)
        settings = load_config(_config(folder, readers))
        with Store(settings.storage.database) as store:
            entries = store.entries_for_day(DAY)
            assert len(entries) == args.day, len(entries)
            figures = []
            for label in ("first run", "rerun (cached)"):
                wall, cpu = time.perf_counter(), time.process_time()
                ranker = Ranker(settings, store)
                ranker.enrich(entries, store)
                orders = []
                for subscriber in settings.subscribers:
                    table = ranker.ranks(entries, ranker.profile_for(subscriber))
                    positions = {e.key: i for i, e in enumerate(entries)}
                    orders.append(
                        sorted(entries, key=lambda e: table[e.key].sort_key(positions[e.key]))
                    )
                figures.append(
                    (label, time.perf_counter() - wall, time.process_time() - cpu, ranker.report)
                )
    for k in (10, 20):
        ranked = mean(
            sum(topic_of[e.title] == topic for e in order[:k]) / k
            for (topic, _), order in zip(readers, orders, strict=True)
        )
        listing = mean(
            sum(topic_of[e.title] == topic for e in entries[:k]) / k for topic, _ in readers
        )
        print(f"precision@{k}: {ranked:.3f} (listing order: {listing:.3f})")
    for label, wall, cpu, report in figures:
        print(
            f"rank {args.day} entries for {args.readers} readers, {label}: {wall:.2f} s"
            f" ({cpu:.2f} s CPU; {report.fitted} models fitted, {report.scored} scores)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
