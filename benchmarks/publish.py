"""Time building feeds: aggregator's writer (feedgen underneath) against bare feedgen.

Run: ``python -m benchmarks.publish``. Prints seconds for 100 category feeds of 100
entries each (the issue #8 target is under 1 s): with ``feedwriter.build_feed`` (what a
publish runs: feedgen plus our fixes and text cleaning) and with feedgen called directly
the simplest way, which shows what our part of the work costs.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from feedgen.feed import FeedGenerator

from aggregator._output.feedwriter import build_feed, entry_html, rfc3339
from aggregator._update.decide import atom_id_for
from aggregator.types import StoredEntry

BASE = "http://localhost:8000/"


def sample_entries(count: int) -> list[StoredEntry]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    abstract = ("We study a problem of some interest and find a result. " * 25).strip()
    return [
        StoredEntry(
            key=f"arxiv:2601.{i:05d}",
            atom_id=atom_id_for(f"arxiv:2601.{i:05d}"),
            title=f"Paper number {i}: 大规模语言模型的研究",
            link=f"https://arxiv.org/abs/2601.{i:05d}",
            published=start + timedelta(minutes=i),
            updated=start + timedelta(minutes=i),
            first_seen=start,
            digest_day=date(2026, 1, 1),
            authors=("Ada One", "Bo Two"),
            summary=f"<p>{abstract}</p>",
            content=None,
            sections=(("Background", abstract), ("Conclusion", abstract)),
            categories=("cs.AI",),
            pdf_url=f"https://arxiv.org/pdf/2601.{i:05d}",
            arxiv_id=None,
            doi=None,
            language=None,
            content_hash="",
            position=i,
        )
        for i in range(count)
    ]


def with_aggregator(entries: list[StoredEntry], feeds: int) -> float:
    begin = time.perf_counter()
    for n in range(feeds):
        build_feed(
            entries,
            category=f"c{n}",
            title=f"c{n}",
            base_url=BASE,
            self_href=f"{BASE}feeds/c{n}.atom",
            fallback_updated=entries[0].updated,
        )
    return time.perf_counter() - begin


def with_feedgen(entries: list[StoredEntry], feeds: int) -> float:
    begin = time.perf_counter()
    for n in range(feeds):
        fg = FeedGenerator()
        fg.id(f"urn:c{n}")
        fg.title(f"c{n}")
        fg.link(href=f"{BASE}feeds/c{n}.atom", rel="self")
        fg.updated(max(e.updated for e in entries))
        for entry in entries:
            fe = fg.add_entry(order="append")
            fe.id(entry.atom_id)
            fe.title(entry.title)
            fe.updated(entry.updated)
            fe.published(entry.published)
            fe.link(href=entry.link, rel="alternate")
            for name in entry.authors:
                fe.author(name=name)
            fe.summary(entry.summary, type="html")
            fe.content(entry_html(entry), type="html")
        fg.atom_str(pretty=True)
    return time.perf_counter() - begin


def main() -> None:
    entries = sample_entries(100)
    rfc3339(entries[0].updated)
    ours = min(with_aggregator(entries, 100) for _ in range(3))
    bare = min(with_feedgen(entries, 100) for _ in range(3))
    print("100 feeds x 100 entries")
    print(f"  aggregator (feedwriter.build_feed): {ours:.3f} s")
    print(f"  bare feedgen:                       {bare:.3f} s")


if __name__ == "__main__":
    main()
