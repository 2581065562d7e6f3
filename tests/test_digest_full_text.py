"""fetch_full_text articles in the digests: the web page, the email's HTML and text.

A teaser feed of 50 entries on 127.0.0.1, each linking to a long article page (English
and Chinese, with a script, an event handler and a javascript: link inside the article),
mailed through a real SMTP server (aiosmtpd): the article excerpts are in both parts of
the email, cut with a "Read more" link, cleaned, and the HTML stays under Gmail's
102 KB clipping limit with every entry shown in full.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from pytest_httpserver import HTTPServer
from smtpserver import SmtpServer
from werkzeug import Request, Response

from aggregator._output import article
from aggregator._output.digest import choose, render
from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.core import run, send_day
from aggregator.types import StoredEntry

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
COUNT = 50
GMAIL_CLIPS_AT = 102 * 1024

#: Words to write the stories with: every story is different (near-duplicate detection
#: would otherwise fold them into one), English for even numbers, Chinese for odd ones.
WORDS = (
    "the committee met on tuesday to discuss proposal for a new cycle lane along river which"
    " has been debated almost three years residents of old quarter asked parking spaces kept"
    " shop owners deliveries remain possible in morning cycling club brought counts riders"
    " council budget bridge harbour school library market station tram bus ferry museum"
)
EN = WORDS.split(" ")
ZH = list(
    "委员会周二开讨论沿河新建自行车道方案这个已经了将近三年老城区居民希望保留停车位商户早上仍然可以送货协则带来骑人数统计据"
)


def _paragraph(number: int, index: int) -> str:
    rng = random.Random(number * 100 + index)
    if number % 2:
        return "".join(rng.choices(ZH, k=90)) + "。"
    return " ".join(rng.choices(EN, k=60)).capitalize() + "."


def _start(number: int, index: int = 0) -> str:
    """The start of one paragraph of a story, as the digest shows it."""
    return f"{number}.{index} " + _paragraph(number, index)[:30]


def _page(number: int) -> bytes:
    paragraphs = "".join(f"<p>{number}.{i} {_paragraph(number, i)}</p>" for i in range(8))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Story {number} | City Paper</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/city'>City</a></nav>"
        f"<article><h1>{_title(number)}</h1>{paragraphs}"
        "<p onclick='steal()'>Hostile paragraph <a href='javascript:alert(1)'>click me</a>"
        "<script>alert('x')</script> ends here.</p></article>"
        "<footer>© 2026 City Paper</footer></body></html>"
    ).encode()


def _title(number: int) -> str:
    words = random.Random(-number).sample(EN, 5)
    return f"Story {number}: " + " ".join(words)


def _feed(server: HTTPServer) -> bytes:
    items = "".join(
        f"<item><title>{_title(n)}</title><link>{server.url_for(f'/posts/{n}')}</link>"
        f"<guid>story-{n}</guid><description>Teaser of story {n}.</description>"
        "<category>city</category></item>"
        for n in range(COUNT)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>City Paper</title><link>{server.url_for('/')}</link>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _serve(server: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if request.path == "/feed.xml":
            return Response(_feed(server), content_type="application/rss+xml")
        number = int(request.path.rsplit("/", 1)[-1])
        return Response(_page(number), content_type="text/html; charset=utf-8")

    server.expect_request("/feed.xml").respond_with_handler(handler)
    for n in range(COUNT):
        server.expect_request(f"/posts/{n}").respond_with_handler(handler)


def test_fifty_full_text_entries_reach_the_email_under_gmails_limit(
    httpserver: HTTPServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    _serve(httpserver)
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\n'
        '[publish]\noutput_dir = "public"\nbase_url = "https://example.org/news/"\n'
        f'[[sources]]\nname = "city"\nurl = "{httpserver.url_for("/feed.xml")}"\n'
        "fetch_full_text = true\nentry_categories = true\n"
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
        'from = "Digest <digest@example.org>"\ntimeout = 5\n'
        '[[subscribers]]\nemail = "reader@example.org"\n',
        encoding="utf-8",
    )
    summary = run(load_config(path), clock=lambda: T0, run_date=T0.date())
    assert not summary.failed, summary.failed
    assert summary.sources[0].counts["new"] == COUNT

    # The published feed: the article as content, the feed's teaser as summary, cleaned.
    feed = feedparser.parse((tmp_path / "public" / "feeds" / "city.atom").read_bytes())
    story = {e.title: e for e in feed.entries}[_title(3)]
    assert story.summary == "Teaser of story 3."
    assert _start(3, 7) in story.content[0].value
    assert "javascript:" not in story.content[0].value and "onclick" not in story.content[0].value

    settings = load_config(path)
    with Store(settings.storage.database) as store:
        report = send_day(settings, store, T0.date(), clock=lambda: T0)
    assert report.ok
    (received,) = smtp.received
    message = received.message
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(html.encode("utf-8")) < GMAIL_CLIPS_AT
    # Every entry in full (none cut down to a title), each with its article's beginning.
    assert html.count("<h3") == COUNT
    assert html.count('class="article"') == COUNT
    for n in (0, 1, 48, 49):
        assert _start(n) in html and _start(n) in text
        assert f'<a href="{httpserver.url_for(f"/posts/{n}")}"' in html
    # Cut, with a way to the rest: the last paragraphs are not in the mail.
    assert "Read more" in html and "Read more: " + httpserver.url_for("/posts/0") in text
    assert _start(0, 7) not in html and _start(1, 7) not in html
    for hostile in ("<script", "onclick", "javascript:", "steal()"):
        assert hostile not in html, hostile
    # The teaser is the excerpt; the article follows it.
    assert html.index("Teaser of story 0.") < html.index(_start(0))

    # The web digest: the same excerpts, folded in <details>.
    page = (tmp_path / "public" / "digests" / T0.date().isoformat() / "index.html").read_text()
    assert page.count('<details class="article">') == COUNT
    assert "<script" not in page.split("</style>", 1)[-1]


# --- the excerpt itself ------------------------------------------------------------------------


def stored(content: str | None, *, summary: str | None = None, key: str = "k") -> StoredEntry:
    return StoredEntry(
        key=key,
        atom_id=f"urn:{key}",
        title=f"Title {key}",
        link=f"https://example.org/{key}",
        published=None,
        updated=T0,
        first_seen=T0,
        digest_day=T0.date(),
        authors=(),
        summary=summary,
        content=content,
        sections=(),
        categories=("news",),
        pdf_url=None,
        arxiv_id=None,
        doi=None,
        language=None,
        content_hash=key,
        position=1,
        sources=("city",),
    )


def test_whole_blocks_up_to_the_limit_then_a_cut_paragraph() -> None:
    content = "<h1>Big</h1><p>" + "word " * 40 + "</p><p>" + "more " * 400 + "</p><img src=x>"
    found = article.excerpt(content, limit=600)
    assert found is not None and found.truncated
    assert found.html.startswith("<h2>Big</h2><p>word word")
    assert found.html.endswith("more…</p>")
    assert "<img" not in found.html
    assert len(found.text.encode()) <= 600 + len("…".encode()) + 4  # blank lines between blocks
    whole = article.excerpt("<p>Short.</p><table><tr><td>cell</td></tr></table>")
    assert whole is not None and not whole.truncated
    assert whole.html == "<p>Short.</p>" and whole.text == "Short."
    assert article.excerpt("<p> </p>") is None and article.excerpt(None) is None


def test_the_budget_is_shared_by_the_digests_articles() -> None:
    assert article.budget_per_article(1) == article.MOST_PER_ARTICLE
    assert article.budget_per_article(50) == article.DIGEST_BUDGET // 50
    assert article.budget_per_article(10_000) == article.LEAST_PER_ARTICLE


def test_only_full_text_entries_get_an_article() -> None:
    alpha, beta = "<p>" + "alpha " * 100 + "</p>", "<p>" + "beta " * 100 + "</p>"
    entries = [stored(alpha, key="a"), stored(beta, key="b", summary="Teaser.")]
    digest = choose(T0.date(), title="D", new=entries, full_text=lambda entry: entry.key != "b")
    items = {item.entry.key: item for item in digest.sections[0].items}
    assert items["a"].article is not None and items["a"].excerpt == ""
    assert items["b"].article is None and items["b"].excerpt == "Teaser."
    rendered = render(digest, base_url="https://example.org/")
    assert rendered.html.count('<details class="article">') == 1
    assert "alpha alpha" in rendered.text and "Teaser." in rendered.text
    assert "beta" not in rendered.text and "beta" not in rendered.html
