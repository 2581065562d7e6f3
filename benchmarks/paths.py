"""Which reader takes which document: the share of the fast lxml path, its feedparser
fallback and arXiv's reader, over the generated benchmark corpus and over the sample
feeds in ``seeds/`` and ``tests/data/``.

``python -m benchmarks.paths [--feeds N] [--entries N]`` prints both tables. Each
document is parsed as ``aggregator run`` parses it (``get_parser(kind, "auto")``) and
counted under ``ParsedFeed.reader``; a document no reader accepts counts as "error".
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from aggregator._sources import ParseOptions, get_parser
from aggregator.errors import ParseError
from benchmarks import feeds as generator

ROOT = Path(__file__).resolve().parent.parent
#: Suffixes of the sample files that are feed documents (or answers a feed URL gave).
_FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".html"})


def path_shares(
    documents: Sequence[bytes], kinds: Sequence[str], *, options: ParseOptions | None = None
) -> Counter[str]:
    """How many documents each reader read ("lxml", "feedparser", "arxiv", ...)."""
    counts: Counter[str] = Counter()
    for data, kind in zip(documents, kinds, strict=True):
        parse = get_parser(kind, "auto")
        try:
            parsed = parse(data, source="paths", options=options or ParseOptions())
        except ParseError:
            counts["error"] += 1
            continue
        counts[parsed.reader or kind] += 1
    return counts


def generated_corpus(feeds: int, entries: int) -> tuple[list[bytes], list[str]]:
    """The benchmark's served feeds: half arXiv-style RSS, half blog Atom."""
    return (
        [generator.feed_bytes(index, entries) for index in range(feeds)],
        [generator.feed_kind(index) for index in range(feeds)],
    )


def sample_corpus(root: Path = ROOT) -> tuple[list[bytes], list[str]]:
    """The feed documents in ``seeds/`` and ``tests/data/`` (arXiv's under arxiv/)."""
    paths = sorted(
        path
        for folder in (root / "seeds", root / "tests" / "data")
        for path in folder.rglob("*")
        if path.is_file() and path.suffix in _FEED_SUFFIXES and "parsers" not in path.parts
    )
    kinds = ["arxiv" if "arxiv" in path.parts else "feed" for path in paths]
    return [path.read_bytes() for path in paths], kinds


def table(title: str, counts: Counter[str]) -> str:
    total = sum(counts.values())
    lines = [f"{title}: {total} documents"]
    for reader, count in counts.most_common():
        lines.append(f"  {reader:<14} {count:>5}  {count / total:6.1%}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paths", description=__doc__)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args(argv)
    location = ParseOptions(location="http://127.0.0.1:8000/feeds/0.xml")
    documents, kinds = generated_corpus(args.feeds, args.entries)
    print(table("generated corpus", path_shares(documents, kinds, options=location)))
    documents, kinds = sample_corpus()
    print(table("seeds/ and tests/data/", path_shares(documents, kinds)))


if __name__ == "__main__":
    main()
