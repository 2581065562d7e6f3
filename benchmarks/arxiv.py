"""Time reading a large arXiv feed: parsing, and normalising with LaTeX to Unicode.

Run: ``python -m benchmarks.arxiv``. Builds an RSS feed in arXiv's format with 2,000
items (more than the busiest category announces in a day; cs.* together is about
1,500), half of them with LaTeX in title and abstract, and prints seconds for parsing
it and for normalising its entries (where the LaTeX conversion happens).
"""

from __future__ import annotations

import time

from aggregator._sources import ParseOptions
from aggregator._sources.arxiv.feed import parse
from aggregator._update.normalize import normalize

ITEMS = 2000


def sample_feed(count: int) -> bytes:
    abstract = "We study a problem of some interest and find a result. " * 15
    maths = r" We bound the $\alpha$-divergence by $O(n \log n)$ and $\|x_1\|^2 \leq \epsilon$."
    items = []
    for i in range(count):
        kind = ("new", "cross", "replace", "replace-cross")[i % 4]
        title = f"Paper {i}: " + (r"$\ell_2$-Regularised $Q^*$ Learning" if i % 2 else "Plain")
        # Partly unique maths, so that the conversion cache does not flatter the figure.
        unique = rf" With $\theta_{{{i}}} = O(n^{{{i % 9 + 2}}})$."
        body = abstract + (maths + unique if i % 2 else "")
        items.append(
            f"""<item><title>{title}</title><link>https://arxiv.org/abs/2601.{i:05d}</link>
<description>arXiv:2601.{i:05d}v{1 + i % 3} Announce Type: {kind}
Abstract: {body}</description>
<guid isPermaLink="false">oai:arXiv.org:2601.{i:05d}v{1 + i % 3}</guid>
<category>cs.AI</category><category>cs.LG</category>
<pubDate>Wed, 14 Jan 2026 00:00:00 -0500</pubDate>
<arxiv:announce_type>{kind}</arxiv:announce_type>
<dc:creator>Ada One, Bo Two, Cy Three</dc:creator></item>"""
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"'
        ' xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>cs.AI updates on arXiv.org</title>"
        "<pubDate>Wed, 14 Jan 2026 00:00:00 -0500</pubDate>" + "".join(items) + "</channel></rss>"
    ).encode()


def main() -> None:
    data = sample_feed(ITEMS)
    options = ParseOptions(categories=("cs.AI",))
    start = time.perf_counter()
    feed = parse(data, source="bench", options=options)
    parsed = time.perf_counter() - start
    start = time.perf_counter()
    entries = [normalize(item, source="bench", position=n) for n, item in enumerate(feed.entries)]
    normalised = time.perf_counter() - start
    converted = sum(1 for e in entries if e.raw_title is not None)
    print(f"arXiv RSS, {len(feed.entries)} items, {len(data) / 1e6:.1f} MB")
    print(f"  parse:     {parsed:.3f} s")
    print(f"  normalise: {normalised:.3f} s ({converted} titles with LaTeX converted)")


if __name__ == "__main__":
    main()
