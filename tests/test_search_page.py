"""The /search page of ``aggregator serve``, over a real HTTP connection to the served
app, on a database a real run filled: results, marks, filters, paging, escaping."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import lxml.html
import pytest
from conftest import DATA, NOW

from aggregator._app.cli.daemon import _search_page
from aggregator._app.serve import FeedServer
from aggregator.config.settings import Settings, load_config
from aggregator.core import Aggregator

RAG = "Retrieval-augmented agents for C++ code repair"


def _settings(folder: Path) -> Settings:
    shutil.copy(DATA / "search" / "lab.atom", folder / "lab.atom")
    path = folder / "aggregator.toml"
    path.write_text(
        '[publish]\ntitle = "Lab"\n'
        '[[sources]]\nname = "lab"\nkind = "feed"\npath = "lab.atom"\ncategories = ["reading"]\n'
        '[[sources]]\nname = "notes"\nkind = "feed"\npath = "lab.atom"\ncategories = ["notes"]\n',
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture(scope="module")
def settings_(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = _settings(tmp_path_factory.mktemp("site"))
    Aggregator(settings, clock=lambda: NOW).run()
    return settings


def _serve(settings: Settings) -> Iterator[str]:
    server = FeedServer(
        settings.publish.output_dir, ("127.0.0.1", 0), search=_search_page(settings)
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def url(settings_: Settings) -> Iterator[str]:
    yield from _serve(settings_)


def get(url: str, query: str) -> tuple[httpx.Response, lxml.html.HtmlElement]:
    response = httpx.get(f"{url}search?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response, lxml.html.fromstring(response.text)


def titles(page: lxml.html.HtmlElement) -> list[str]:
    return [item.text_content() for item in page.xpath("//ol/li/div[1]")]


def test_a_word_of_an_abstract_finds_its_entry_best_first(url: str) -> None:
    response, page = get(url, "q=agent")
    assert titles(page) == [RAG, "A survey of program synthesis benchmarks"]
    assert page.xpath("//ol/li[1]//a/@href")[0] == "https://lab.example.org/notes/rag-cpp-repair"
    assert "agent" in [mark.text for mark in page.xpath("//ol/li[1]//p[@class='snippet']/mark")]
    assert page.xpath("//p[@class='count']")[0].text_content().startswith("2 matches")
    assert response.headers["cache-control"] == "no-store"
    assert "form-action 'self'" in response.headers["content-security-policy"]


def test_a_cjk_word_is_found_and_marked_whole(url: str) -> None:
    _, page = get(url, "q=" + quote("修复"))
    assert titles(page) == ["基于大语言模型的程序错误修复"]
    assert page.xpath("//ol/li[1]//strong//mark/text()") == ["修复"]


def test_the_form_keeps_the_query_and_offers_the_categories(url: str) -> None:
    _, page = get(url, "q=agent&category=notes")
    [form] = page.xpath("//form")
    assert (form.get("action"), form.get("method")) == ("/search", "get")
    assert page.xpath("//input[@name='q']/@value") == ["agent"]
    assert page.xpath("//select[@name='category']/option/@value") == ["", "notes", "reading"]
    assert page.xpath("//option[@selected]/@value") == ["notes"]
    assert page.xpath("//script") == []


def test_the_category_filter_and_an_unknown_category(url: str) -> None:
    _, page = get(url, "q=agent&category=reading")
    assert len(titles(page)) == 2
    _, page = get(url, "q=agent&category=" + quote("<nope>"))
    assert page.xpath("//option[@selected]") == []  # unknown: every category
    assert len(titles(page)) == 2


def test_no_query_shows_the_form_alone(url: str) -> None:
    _, page = get(url, "")
    assert page.xpath("//form") and page.xpath("//ol") == []
    assert page.xpath("//p[@class='error']") == []


def test_a_query_with_nothing_to_find_shows_the_error_and_its_hint(url: str) -> None:
    _, page = get(url, "q=%2B%2B")
    [error] = page.xpath("//p[@class='error']")
    assert "nothing to search for in '++'" in error.text_content()
    assert "give at least one word" in error.text_content()


def test_a_script_in_the_query_or_an_entry_stays_text(url: str) -> None:
    evil = '<script>alert("q")</script>'
    response, page = get(url, "q=" + quote(evil))
    assert "<script>" not in response.text
    assert page.xpath("//script") == []
    assert page.xpath("//input[@name='q']/@value") == [evil]
    response, page = get(url, "q=owned")
    assert "<script>" not in response.text
    assert page.xpath("//script") == []
    [snippet] = page.xpath("//p[@class='snippet']")
    assert '<script>alert("owned")</script>' in snippet.text_content()
    assert "&lt;script&gt;" in response.text


def test_pages_of_twenty(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    feed = tmp_path / "lab.atom"
    entries = "".join(
        f"<entry><title>Note {n} on agents</title><id>urn:example:note-{n}</id>"
        f'<link href="https://lab.example.org/n/{n}"/><updated>2026-11-22T09:00:00Z</updated>'
        "<summary>About agents.</summary></entry>"
        for n in range(45)
    )
    text = feed.read_text(encoding="utf-8").replace("</feed>", entries + "</feed>")
    feed.write_text(text, encoding="utf-8")
    Aggregator(settings, clock=lambda: NOW).run()
    for served in _serve(settings):
        _, first = get(served, "q=agents")
        assert len(titles(first)) == 20
        assert first.xpath("//nav//a/text()") == ["2", "3"]
        _, third = get(served, "q=agents&page=3")
        assert len(titles(third)) == 47 - 40
        assert third.xpath("//ol/@start") == ["41"]
        _, wrong = get(served, "q=agents&page=x")
        assert titles(wrong) == titles(first)


@pytest.mark.sqlite_only(
    reason="no database yet: a SQLite file not made (PostgreSQL's is always there)"
)
def test_without_a_database_the_page_says_so(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.publish.output_dir.mkdir(parents=True)
    for served in _serve(settings):
        _, page = get(served, "q=agent")
        assert "no database yet" in page.xpath("//p[@class='error']")[0].text_content()
