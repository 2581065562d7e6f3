"""Ranking end to end: `aggregator run` ingests a day of papers of eight topics, ranks
them for a reader who liked three quantum papers, and mails the digest to a real SMTP
server on 127.0.0.1: their topic first, with reasons; a personal feed in that order."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from click.testing import CliRunner, Result
from smtpserver import SmtpServer

from aggregator._app.cli import main
from benchmarks.papers import Paper, papers, rss

DAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer().start()
    yield smtp
    smtp.stop()


def invoke(folder: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(folder / "aggregator.toml"), *args])


def site(folder: Path, port: int) -> tuple[list[Paper], Paper]:
    """A feed of 96 papers (12 per topic), a reader who liked 3 quantum ones (and one
    paper that is not stored) and follows the author of one vision paper."""
    day = papers(96, seed=7)
    followed = next(p for p in day if p.topic == "vision")
    day = [
        Paper(p.topic, p.title, p.abstract, (*p.authors, "Zed Quorum"), p.link)
        if p is followed
        else p
        for p in day
    ]
    followed = next(p for p in day if "Zed Quorum" in p.authors)
    liked = [p.link for p in day if p.topic == "quantum"][:3]
    (folder / "papers.rss").write_text(rss(day, day=DAY), encoding="utf-8")
    likes = ", ".join(f'"{link}"' for link in [*liked, "2401.99999v2"])
    (folder / "aggregator.toml").write_text(
        f"""
[storage]
database = "db.sqlite"
[dedup]
enabled = false  # generated abstracts share whole sentences
[publish]
base_url = "https://example.org/"
[[sources]]
name = "papers"
path = "papers.rss"
entry_categories = true
[email]
smtp_host = "127.0.0.1"
smtp_port = {port}
from = "Digest <digest@example.org>"
timeout = 5
backoff = 0
[[subscribers]]
email = "reader@example.org"
max_entries = 10
personal_feed = true
[subscribers.interests]
authors = ["Quorum, Z."]
like = [{likes}]
[[subscribers]]
email = "plain@example.org"
""",
        encoding="utf-8",
    )
    return day, followed


def test_a_reader_who_liked_three_papers_gets_their_topic_first_with_reasons(
    tmp_path: Path, server: SmtpServer
) -> None:
    day, followed = site(tmp_path, server.port)
    result = invoke(tmp_path, "run")
    assert result.exit_code == 0, result.output
    assert "Liked papers not stored (reader@example.org): arXiv:2401.99999" in result.output
    assert "Ranking: 96 entries scored, 1 model fitted" in result.output

    by_title = {p.title: p for p in day}
    message = next(r.message for r in server.received if "reader@example.org" in r.rcpt_tos)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    full = [line.split(". ", 1)[1] for line in text.splitlines() if re.match(r"\d+\. ", line)]
    listed = [line[3:] for line in text.splitlines() if line.startswith(" - ")]
    assert len(full) == 10 and len(full) + len(listed) == 96
    # The followed author first, then the liked topic: 9 of the next 9 in full.
    assert full[0] == followed.title
    assert "(by a followed author: Zed Quorum)" in text
    topics = [by_title[title].topic for title in full[1:]]
    assert topics.count("quantum") >= 8, topics
    assert "(like: " in text and 'class="reason"' in html
    # The rest of the quantum papers lead the list of titles too.
    following = [by_title[line.split(" (", 1)[0]].topic for line in listed[:3]]
    assert following.count("quantum") >= 2, following

    # The reader without interests gets listing order, no reasons.
    plain = next(r.message for r in server.received if "plain@example.org" in r.rcpt_tos)
    plain_text = plain.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "(like: " not in plain_text and "followed author" not in plain_text

    # Their personal feed: valid Atom, in the same order, named in the footer.
    feeds = list((tmp_path / "public" / "feeds" / "personal").glob("*.atom"))
    assert len(feeds) == 1 and len(feeds[0].stem) == 32
    assert "reader" not in feeds[0].name
    assert f"https://example.org/feeds/personal/{feeds[0].name}" in text
    data = feeds[0].read_bytes()
    validate_atom(data)
    parsed = feedparser.parse(data)
    assert parsed.entries[0].title == followed.title
    assert [by_title[e.title].topic for e in parsed.entries[1:9]].count("quantum") >= 7


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_a_rerun_fits_nothing_and_reads_the_cached_scores(
    tmp_path: Path, server: SmtpServer
) -> None:
    site(tmp_path, server.port)
    assert invoke(tmp_path, "run", "--no-send").exit_code == 0
    again = invoke(tmp_path, "run", "--no-send")
    assert again.exit_code == 0, again.output
    assert "Ranking:" not in again.output
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        summaries = [row[0] for row in db.execute("SELECT summary FROM runs ORDER BY id")]
        cached = db.execute("SELECT count(*) FROM entry_scores").fetchone()[0]
    assert '"fitted": 1' in summaries[0] and '"fitted": 0' in summaries[1]
    assert cached == 96
    # Sending later reads the cache: the digest is still ranked, nothing is fitted.
    sent = invoke(tmp_path, "send", "--date", DAY.date().isoformat())
    assert sent.exit_code == 0, sent.output
