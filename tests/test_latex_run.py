"""Names and maths of arXiv papers read as Unicode end to end: an arXiv RSS document
served on 127.0.0.1, with TeX accents in its authors and maths in its titles, then the
published Atom feed (parsed back), the digest and the database.

And the upgrade: a database written before names were read (raw names, no raw_authors
column, the content hashes of that code), then a run of this code over the same document:
the papers are unchanged, not updated, and their names read as Unicode from then on.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from atomcheck import validate_atom
from pytest_httpserver import HTTPServer

from aggregator._storage.sqlite import Store
from aggregator._update.decide import Outcome, row_hash
from aggregator._update.normalize import content_hash
from aggregator.config.settings import Settings, load_config
from aggregator.core import RunSummary, run
from aggregator.types import ParsedEntry, StoredEntry

RSS = "application/rss+xml; charset=utf-8"
MORNING = datetime(2026, 1, 14, 7, tzinfo=ZoneInfo("America/New_York"))

CHANNEL = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 version="2.0">
  <channel>
    <title>math.PR updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/math.PR</link>
    <description>math.PR updates on the arXiv.org e-print archive.</description>
    <atom:link href="https://rss.arxiv.org/rss/math.PR" rel="self" type="application/rss+xml"/>
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>Wed, 14 Jan 2026 05:00:04 +0000</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
    <pubDate>Wed, 14 Jan 2026 00:00:00 -0500</pubDate>
    <skipDays>
      <day>Sunday</day>
      <day>Saturday</day>
    </skipDays>
{items}
  </channel>
</rss>
"""
# arXiv's description has a space at the end of its first line.
ITEM = """    <item>
      <title>{title}</title>
      <link>https://arxiv.org/abs/{id}</link>
      <description>arXiv:{id}v1 Announce Type: new{space}
Abstract: {abstract}</description>
      <guid isPermaLink="false">oai:arXiv.org:{id}v1</guid>
      <category>math.PR</category>
      <pubDate>Wed, 14 Jan 2026 00:00:00 -0500</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
      <dc:creator>{authors}</dc:creator>
    </item>"""
MATHS = ITEM.format(
    space=" ",
    id="2601.20001",
    title=r"Regret of Order $\ln \ln T$ as $n \to \infty$ for Schr\"odinger Bandits",
    abstract=r"We show that $\sin\theta$ and $\log \log n$ bound the regret of Lef\`evre's rule.",
    authors=r"Fran\c{c}ois Lef\`evre, J\"urgen M\"uller",
)
NAMES = ITEM.format(
    space=" ",
    id="2601.20002",
    title=r"$\alpha$-Stable Processes on Graphs",
    abstract=r"We study $\alpha$-stable processes.",
    authors=r"Jos\'e Mar\'ia Garc\'ia, S{\o}ren Kierkegaard and Ada Lovelace",
)
PLAIN = ITEM.format(
    space=" ",
    id="2601.20003",
    title="Random Walks That Cost $5",
    abstract="A walk costs $5 and saves 50% of the time.",
    authors="Grace Hopper",
)
CONFIG = """
[storage]
database = "db.sqlite"

[publish]
output_dir = "public"

[arxiv]
base_url = "{base}"
api_url = "{base}api/query"
api_delay = 0

[[sources]]
name = "arxiv-pr"
kind = "arxiv"
categories = ["math.PR"]
"""


def serve(httpserver: HTTPServer, *items: str) -> None:
    httpserver.clear()
    document = CHANNEL.format(items="\n".join(items)).encode("utf-8")
    httpserver.expect_request("/rss/math.PR").respond_with_data(document, content_type=RSS)


def settings_for(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> Settings:
    return load_config(write_config(CONFIG.format(base=httpserver.url_for("/"))))


def run_at(settings: Settings, now: datetime) -> RunSummary:
    return run(settings, clock=lambda: now.astimezone(UTC))


def rows(settings: Settings) -> dict[str, StoredEntry]:
    with Store(settings.storage.database) as store:
        return {e.arxiv_id or "": e for e in store.entries_in_category(None, 100)}


def feed(settings: Settings) -> feedparser.FeedParserDict:
    data = (settings.publish.output_dir / "feeds" / "math.PR.atom").read_bytes()
    validate_atom(data)
    return feedparser.parse(data)


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_names_and_maths_read_as_unicode_in_feed_digest_and_database(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    settings = settings_for(httpserver, write_config)
    serve(httpserver, MATHS, NAMES, PLAIN)
    summary = run_at(settings, MORNING)
    assert summary.failed == [] and summary.count(Outcome.NEW) == 3

    published = {e.link.rsplit("/", 1)[1]: e for e in feed(settings).entries}
    maths, names, plain = published["2601.20001"], published["2601.20002"], published["2601.20003"]
    assert maths.title == "Regret of Order ln ln T as n → ∞ for Schrödinger Bandits"
    assert [a.name for a in maths.authors] == ["François Lefèvre", "Jürgen Müller"]
    assert "sin θ and log log n bound the regret of Lefèvre's rule" in maths.summary
    assert [a.name for a in names.authors] == [
        "José María García",
        "Søren Kierkegaard",
        "Ada Lovelace",
    ]
    assert plain.title == "Random Walks That Cost $5"
    assert "costs $5 and saves 50%" in plain.summary

    html = (settings.publish.output_dir / "digests" / "2026-01-14" / "index.html").read_text(
        encoding="utf-8"
    )
    for shown in ("François Lefèvre", "Jürgen Müller", "José María García", "Søren Kierkegaard"):
        assert shown in html
    assert "Regret of Order ln ln T as n → ∞ for Schrödinger Bandits" in html
    assert "\\c{c}" not in html and '\\"u' not in html and "lnln" not in html
    text = (settings.publish.output_dir / "digests" / "2026-01-14" / "digest.txt").read_text(
        encoding="utf-8"
    )
    assert "François Lefèvre, Jürgen Müller" in text

    stored = rows(settings)
    assert stored["2601.20001"].authors == ("François Lefèvre", "Jürgen Müller")
    assert stored["2601.20001"].raw_authors == (r"Fran\c{c}ois Lef\`evre", r"J\"urgen M\"uller")
    assert stored["2601.20001"].raw_title == (
        r"Regret of Order $\ln \ln T$ as $n \to \infty$ for Schr\"odinger Bandits"
    )
    assert stored["2601.20002"].raw_authors == (
        r"Jos\'e Mar\'ia Garc\'ia",
        r"S{\o}ren Kierkegaard",
        "Ada Lovelace",
    )
    assert stored["2601.20003"].raw_authors is None
    with sqlite3.connect(settings.storage.database) as conn:
        raw = dict(conn.execute("SELECT arxiv_id, raw_authors FROM entries"))
    assert json.loads(raw["2601.20001"]) == [r"Fran\c{c}ois Lef\`evre", r"J\"urgen M\"uller"]
    assert raw["2601.20003"] is None


def hash_before_names_were_read(entry: StoredEntry) -> str:
    """What the code before names were read stored for ``entry``: the same content hash
    of the same fields, with the names as the source delivered them."""
    return content_hash(
        ParsedEntry(
            title=entry.title,
            link=entry.link,
            authors=entry.raw_authors or entry.authors,
            summary=entry.summary,
            content=entry.content,
            sections=entry.sections,
            pdf_url=entry.pdf_url,
            version=entry.version,
            journal_ref=entry.journal_ref,
        )
    )


def as_written_before_names_were_read(database: Path) -> None:
    """Turn the database into what the code before names were read wrote: raw names, no
    raw_authors column (schema 11), that code's content hashes, no document fingerprint."""
    with Store(database) as store:
        entries = list(store.entries_in_category(None, 100))
    conn = sqlite3.connect(database)
    with conn:
        for entry in entries:
            old = replace(entry, authors=entry.raw_authors or entry.authors, raw_authors=None)
            conn.execute(
                "UPDATE entries SET authors = ?, content_hash = ? WHERE key = ?",
                [json.dumps(list(old.authors)), row_hash(old), entry.key],
            )
            conn.execute(
                "UPDATE entry_sources SET content_hash = ? WHERE entry_key = ?",
                [hash_before_names_were_read(entry), entry.key],
            )
        conn.execute("ALTER TABLE entries DROP COLUMN raw_authors")
        conn.execute("DELETE FROM schema_migrations WHERE version = 13")
        conn.execute("DELETE FROM source_documents")
    conn.close()


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_an_upgraded_database_reports_its_papers_unchanged_and_reads_their_names(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    # Titles and abstracts that the code before read the same way: only names differ.
    settings = settings_for(httpserver, write_config)
    serve(httpserver, NAMES, PLAIN)
    run_at(settings, MORNING)
    database = settings.storage.database
    as_written_before_names_were_read(database)
    with sqlite3.connect(database) as conn:
        (authors,) = conn.execute("SELECT authors FROM entries WHERE arxiv_id = '2601.20002'")
    assert json.loads(authors[0])[0] == r"Jos\'e Mar\'ia Garc\'ia"

    summary = run_at(settings, MORNING.replace(hour=9))
    (report,) = summary.sources
    assert report.counts == {"new": 0, "updated": 0, "unchanged": 2, "duplicate": 0}
    stored = rows(settings)
    assert stored["2601.20002"].authors == (
        "José María García",
        "Søren Kierkegaard",
        "Ada Lovelace",
    )
    assert stored["2601.20002"].raw_authors is not None
    assert stored["2601.20002"].raw_authors[0] == r"Jos\'e Mar\'ia Garc\'ia"
    # Unchanged: the paper keeps its time (it is not shown again as updated).
    assert stored["2601.20002"].updated == datetime(2026, 1, 14, 5, tzinfo=UTC)
    names = {e.link.rsplit("/", 1)[1]: e for e in feed(settings).entries}["2601.20002"]
    assert next(a.name for a in names.authors) == "José María García"
