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


# -- sources add and OPML import ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "follows"),
    [
        ("https://rss.arxiv.org/rss/cs.CL", ("cs.CL",)),
        ("https://rss.arxiv.org/atom/cs.AI+cs.LG", ("cs.AI", "cs.LG")),
        ("http://export.arxiv.org/rss/hep-th", ("hep-th",)),
        (
            "http://export.arxiv.org/api/query?search_query=cat:cs.CL+OR+cat:math.*"
            "&sortBy=submittedDate&max_results=100",
            ("cs.CL", "math"),
        ),
        ("https://arxiv.org/list/cs.CL/new", ("cs.CL",)),
        ("https://arxiv.org/a/lovelace_a_1.atom2", ()),
    ],
)
def test_sources_add_recognises_arxiv_urls(
    tmp_path: Path, url: str, follows: tuple[str, ...]
) -> None:
    config = tmp_path / "aggregator.toml"
    result = cli(config, "sources", "add", "papers", url)
    assert result.exit_code == 0, result.output
    assert "kind arxiv (recognised from the URL)" in result.stdout
    [source] = load_config(config).sources
    assert (source.kind, source.url, source.follow) == ("arxiv", url, follows)
    assert 'kind = "arxiv"' in config.read_text(encoding="utf-8")


def test_sources_add_keeps_an_explicit_feed_kind_with_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    result = cli(
        config, "sources", "add", "cl", "https://rss.arxiv.org/rss/cs.CL", "--kind", "feed"
    )
    assert result.exit_code == 0, result.output
    assert "warning: https://rss.arxiv.org/rss/cs.CL is arXiv's feed" in result.stderr
    assert 'kept kind "feed" as asked' in result.stderr
    assert [s.kind for s in load_config(config).sources] == ["feed"]
    # Other URLs stay plain feeds, silently.
    result = cli(config, "sources", "add", "blog", "https://blog.example.org/feed.xml")
    assert result.exit_code == 0 and not result.stderr
    assert "kind feed." in result.stdout
    assert [s.kind for s in load_config(config).sources] == ["feed", "feed"]


def test_sources_add_refuses_own_categories_for_a_recognised_arxiv_url(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    result = cli(
        config, "sources", "add", "cl", "https://rss.arxiv.org/rss/cs.CL", "--category", "My Papers"
    )
    assert result.exit_code == 2
    assert "'My Papers' is not one" in result.stderr and "--kind feed" in result.stderr
    assert not config.exists()


def test_sources_add_recognises_a_saved_arxiv_feed_by_its_content(tmp_path: Path) -> None:
    (tmp_path / "cs.AI.xml").write_bytes((ARXIV / "rss-cs.AI-2026-01-14.xml").read_bytes())
    config = tmp_path / "aggregator.toml"
    result = cli(config, "sources", "add", "saved", "cs.AI.xml")
    assert result.exit_code == 0, result.output
    assert "kind arxiv (recognised from its content)" in result.stdout
    assert [s.kind for s in load_config(config).sources] == ["arxiv"]


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Reader export</title></head>
  <body>
    <outline text="Research" title="Research">
      <outline type="rss" text="cs.CL updates on arXiv.org" xmlUrl="https://rss.arxiv.org/rss/cs.CL"/>
      <outline type="rss" text="Lab blog" xmlUrl="https://lab.example.org/feed.xml"/>
    </outline>
    <outline type="rss" text="arXiv API" category="/cs.LG"
             xmlUrl="http://export.arxiv.org/api/query?search_query=cat:cs.LG"/>
  </body>
</opml>
"""


def test_opml_import_recognises_arxiv_urls(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    opml = tmp_path / "export.opml"
    opml.write_bytes(OPML)
    result = cli(config, "sources", "import-opml", str(opml))
    assert result.exit_code == 0, result.output
    assert (
        "added: cs-cl-updates-on-arxiv-org (https://rss.arxiv.org/rss/cs.CL) as kind arxiv"
        " (recognised from the URL); not filed under Research" in result.stdout
    )
    assert "added: lab-blog (https://lab.example.org/feed.xml)\n" in result.stdout
    sources = {s.name: s for s in load_config(config).sources}
    assert {name: s.kind for name, s in sources.items()} == {
        "cs-cl-updates-on-arxiv-org": "arxiv",
        "lab-blog": "feed",
        "arxiv-api": "arxiv",
    }
    assert sources["cs-cl-updates-on-arxiv-org"].follow == ("cs.CL",)
    assert sources["lab-blog"].categories == ("Research",)
    assert sources["arxiv-api"].follow == ("cs.LG",)

    # --kind feed is obeyed, and warned about, for each arXiv URL.
    other = tmp_path / "other.toml"
    result = cli(other, "sources", "import-opml", str(opml), "--kind", "feed")
    assert result.exit_code == 0, result.output
    assert result.stderr.count('kept kind "feed" as asked') == 2
    assert {s.kind for s in load_config(other).sources} == {"feed"}


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


# -- a plain feed and arXiv disagreeing about a paper --------------------------------------

BLOG = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Papers we read</title>
    <link>https://reading-group.example.org/</link>
    <description>What the reading group looked at</description>
    <item>
      <title>Read this week: alpha-divergence bounds</title>
      <link>https://arxiv.org/abs/2601.10001v1</link>
      <guid>https://reading-group.example.org/2026/01/16/alpha</guid>
      <description>Our notes: nice bounds, slow planners.</description>
      <author>group@example.org (Reading Group)</author>
      <pubDate>Fri, 16 Jan 2026 09:00:00 +0000</pubDate>
    </item>
  </channel>
</rss>
"""


@pytest.mark.parametrize("plain_first", [True, False])
def test_arxiv_reading_wins_whatever_the_order(
    httpserver: HTTPServer, tmp_path: Path, plain_first: bool
) -> None:
    httpserver.expect_request("/blog.xml").respond_with_data(BLOG, content_type=RSS)
    httpserver.expect_request("/rss/cs.AI").respond_with_data(
        (ARXIV / "rss-cs.AI-2026-01-14.xml").read_bytes(), content_type=RSS
    )
    plain = source_table("blog", "feed", httpserver.url_for("/blog.xml"))
    arxiv = source_table("arxiv-ai", "arxiv", httpserver.url_for("/rss/cs.AI"))
    config = tmp_path / "aggregator.toml"
    head = HEAD.format(db="db.sqlite", out="public")
    config.write_text(head + (plain + arxiv if plain_first else arxiv + plain), encoding="utf-8")
    # The blog is read on Friday the 16th; arXiv announced the paper on Wednesday the 14th.
    result = cli(config, "run", "--date", "2026-01-16", "--no-send")
    assert result.exit_code == 0, result.output

    row = stored(tmp_path / "db.sqlite", "arxiv:2601.10001")
    assert row.title.startswith("α-Divergence Bounds")
    assert row.summary is not None and row.summary.startswith("We bound the α-divergence")
    assert row.authors == ("Ada Lovelace", "Alan Turing")
    assert row.digest_day.isoformat() == "2026-01-14"
    assert row.link == "https://arxiv.org/abs/2601.10001"
    assert set(row.sources) == {"blog", "arxiv-ai"}
    assert set(row.categories) == {"blog", "cs.AI"}

    digests = tmp_path / "public" / "digests"
    holding = sorted(
        day.name
        for day in digests.iterdir()
        if (day / "digest.txt").exists()
        and "Divergence Bounds" in (day / "digest.txt").read_text(encoding="utf-8")
    )
    assert holding == ["2026-01-14"]
    assert "Our notes" not in (digests / "2026-01-14" / "digest.txt").read_text(encoding="utf-8")

    # The next run's blog delivery changes nothing arXiv said.
    result = cli(config, "run", "--date", "2026-01-17", "--no-send")
    assert result.exit_code == 0, result.output
    again = stored(tmp_path / "db.sqlite", "arxiv:2601.10001")
    assert (again.title, again.summary, again.digest_day) == (
        row.title,
        row.summary,
        row.digest_day,
    )


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
