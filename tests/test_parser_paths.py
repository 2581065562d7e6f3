"""``ParsedFeed.reader`` names the reader that took a document, and
``benchmarks.paths`` counts them."""

from __future__ import annotations

from pathlib import Path

from aggregator._sources import ParseOptions, get_parser
from benchmarks import feeds as generator
from benchmarks.paths import path_shares, sample_corpus

DATA = Path(__file__).parent / "data"


def test_each_reader_names_itself() -> None:
    options = ParseOptions()
    atom = (DATA / "feeds" / "equivalence" / "atom10-edge.xml").read_bytes()
    atom03 = (DATA / "feeds" / "atom03.xml").read_bytes()
    arxiv = (DATA / "arxiv" / "rss-cs.AI-2026-01-14.xml").read_bytes()
    listing = (DATA / "arxiv" / "list-cs.AI-new-2026-01-15.html").read_bytes()
    assert get_parser("feed")(atom, source="s", options=options).reader == "lxml"
    assert get_parser("feed")(atom03, source="s", options=options).reader == "feedparser"
    assert get_parser("feed", "feedparser")(atom, source="s", options=options).reader == (
        "feedparser"
    )
    assert get_parser("arxiv")(arxiv, source="s", options=options).reader == "arxiv"
    assert get_parser("arxiv")(listing, source="s", options=options).reader == "arxiv-listing"


def test_the_reader_is_not_part_of_a_parsed_feeds_equality() -> None:
    atom = (DATA / "feeds" / "equivalence" / "atom10-edge.xml").read_bytes()
    fast = get_parser("feed")(atom, source="s", options=ParseOptions())
    slow = get_parser("feed", "feedparser")(atom, source="s", options=ParseOptions())
    assert fast.reader != slow.reader
    assert fast.title == slow.title


def test_path_shares_counts_readers_and_errors() -> None:
    documents = [
        generator.feed_bytes(0, 3),
        generator.feed_bytes(1, 3),
        generator.feed_bytes(3, 3),
        (DATA / "feeds" / "atom03.xml").read_bytes(),
        b"not a feed",
    ]
    kinds = ["arxiv", "feed", "feed", "feed", "feed"]
    shares = path_shares(documents, kinds)
    assert shares == {"arxiv": 1, "lxml": 2, "feedparser": 1, "error": 1}


def test_the_sample_corpus_holds_the_samples() -> None:
    documents, kinds = sample_corpus()
    assert len(documents) == len(kinds) > 30
    assert {"arxiv", "feed"} == set(kinds)
