"""Recognising arXiv, and one meaning per paper whatever the source kind (issue 15, 1 and 6).

- ``sources add`` and OPML import choose ``kind = "arxiv"`` for arXiv's URLs and say so;
  an explicit ``--kind feed`` is kept, with a warning.
- A ``kind = "feed"`` source whose document is arXiv's stores the same rows as a
  ``kind = "arxiv"`` source reading it.
- When a plain feed and arXiv disagree about a paper, arXiv's reading wins in either order
  of the sources: one digest day, arXiv's values.
- A listing page saved from a browser (a comment before its doctype) reads as the listing
  it is; HTML that is not a listing is an error that says so and what to do.

Runs go through the real CLI over a real HTTP server on 127.0.0.1 and real SQLite files.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DATA
from pytest_httpserver import HTTPServer

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.types import StoredEntry

ARXIV = DATA / "arxiv"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"

HEAD = """
[storage]
database = "{db}"

[publish]
output_dir = "{out}"

[arxiv]
api_delay = 0
catch_up_days = 0
"""


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def source_table(name: str, kind: str, url: str, extra: str = "") -> str:
    return f'\n[[sources]]\nname = "{name}"\nkind = "{kind}"\nurl = "{url}"\n{extra}'


# -- the same document through kind "feed" and kind "arxiv" --------------------------------

#: What a paper means: the fields that must not depend on the kind of source.
FIELDS = (
    "title",
    "link",
    "published",
    "digest_day",
    "authors",
    "summary",
    "pdf_url",
    "arxiv_id",
    "doi",
    "version",
    "primary_category",
    "subjects",
    "journal_ref",
    "raw_title",
    "raw_summary",
)


def meanings(database: Path) -> dict[str, tuple[object, ...]]:
    """Every stored paper's meaning, by key (``None``: every category, ``all``)."""
    with Store(database) as store:
        rows = store.entries_in_category(None, limit=1000)
    return {row.key: tuple(getattr(row, f) for f in FIELDS) for row in rows}


def stored(database: Path, key: str) -> StoredEntry:
    with Store(database) as store:
        return store.get_entries([key])[key]


@pytest.mark.parametrize(
    ("document", "path", "content_type"),
    [
        ("rss-cs.AI-2026-01-15.xml", "/rss/cs.AI", RSS),
        ("atom-cs.AI-2026-01-14.xml", "/atom/cs.AI", ATOM),
        ("api-page1.xml", "/api/query", ATOM),
    ],
)
def test_an_arxiv_document_means_the_same_through_kind_feed(
    httpserver: HTTPServer, tmp_path: Path, document: str, path: str, content_type: str
) -> None:
    data = (ARXIV / document).read_bytes()
    httpserver.expect_request(path).respond_with_data(data, content_type=content_type)
    url = httpserver.url_for(path)
    if path == "/api/query":
        url += "?search_query=cat:cs.AI"
    found = {}
    for kind in ("feed", "arxiv"):
        config = tmp_path / f"{kind}.toml"
        head = HEAD.format(db=f"{kind}.db", out=f"public-{kind}")
        config.write_text(head + source_table("papers", kind, url), encoding="utf-8")
        # Run days after the announcement: the paper's day must still be arXiv's.
        result = cli(config, "run", "--date", "2026-01-23", "--no-send")
        assert result.exit_code == 0, result.output
        found[kind] = meanings(tmp_path / f"{kind}.db")
    assert found["feed"] == found["arxiv"]
    assert found["feed"]
    for _title, link, _, day, _authors, summary, *_ in found["feed"].values():
        assert day.isoformat() < "2026-01-23"
        assert summary and not summary.startswith("arXiv:")
        assert "Announce Type" not in summary
        assert link.startswith("https://arxiv.org/abs/") and link[-2] != "v"
    if document.startswith("rss"):
        row = stored(tmp_path / "feed.db", "arxiv:2601.11005")
        assert row.doi == "10.1234/example.2026.11005"
        assert row.digest_day.isoformat() == "2026-01-15"
        assert len(row.authors) > 1


# -- listing pages saved from a browser ----------------------------------------------------

SAVED_FROM = b"<!-- saved from url=(0036)https://arxiv.org/list/cs.AI/new -->\n"


@pytest.mark.parametrize("kind", ["arxiv", "feed"])
def test_a_listing_page_saved_from_a_browser_reads_as_the_listing(
    tmp_path: Path, kind: str
) -> None:
    page = (ARXIV / "list-cs.AI-new-2026-01-15.html").read_bytes()
    (tmp_path / "saved.html").write_bytes(SAVED_FROM + page)
    config = tmp_path / "aggregator.toml"
    config.write_text(
        HEAD.format(db="db.sqlite", out="public")
        + f'\n[[sources]]\nname = "saved"\nkind = "{kind}"\npath = "saved.html"\n',
        encoding="utf-8",
    )
    result = cli(config, "run", "--date", "2026-01-20", "--no-send")
    assert result.exit_code == 0, result.output
    assert "not well-formed" not in result.output
    with Store(tmp_path / "db.sqlite") as store:
        announced = store.announcements_on(date(2026, 1, 15))
        rows = store.entries_for_day(date(2026, 1, 15))
    assert rows and all(r.summary and r.arxiv_id for r in rows)
    if kind == "arxiv":
        # The categories come from the URL the page was saved from.
        assert announced and all(set(how) == {"cs.AI"} for how in announced.values())


@pytest.mark.parametrize("preamble", [SAVED_FROM, b""])
def test_html_that_is_not_a_listing_says_so(tmp_path: Path, preamble: bytes) -> None:
    (tmp_path / "page.html").write_bytes(
        preamble + b"<!DOCTYPE html>\n<html><head><title>Lab news</title></head>"
        b"<body><h1>Lab news</h1><p>We moved to a new building.</p></body></html>\n"
    )
    config = tmp_path / "aggregator.toml"
    config.write_text(
        HEAD.format(db="db.sqlite", out="public")
        + '\n[[sources]]\nname = "lab"\nkind = "arxiv"\npath = "page.html"\n',
        encoding="utf-8",
    )
    result = cli(config, "run", "--no-send")
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("failed: lab")]
    assert "an HTML page, but not an arXiv listing page" in line
    assert 'give it kind = "page"' in line and "https://arxiv.org/list/<category>/new" in line
    assert "well-formed XML" not in line
