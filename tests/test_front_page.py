"""The front page (public/index.html): the latest day's highlights linking into its
digest, every digest by month, each feed with its formats and how to subscribe; the
search box only where ``aggregator serve`` answers /search; light, dark and phone
layouts in headless Chromium; the same bytes when nothing changed."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from browser import chromium, needs_chromium
from conftest import NOW, ROOT, SEEDS
from test_email_digest import entry

from aggregator._app.serve import FeedServer
from aggregator._output import front
from aggregator._output.digest import choose
from aggregator.config.settings import load_config
from aggregator.core import run

RUN_DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample sources, published once for this module."""
    folder = tmp_path_factory.mktemp("front")
    settings = load_config(None, cwd=folder)
    run(settings, clock=lambda: NOW, run_date=RUN_DAY)
    return settings.publish.output_dir


def page(built: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((built / "index.html").read_bytes())


# -- what the page is made of -----------------------------------------------------------


def test_days_are_grouped_by_month_newest_first() -> None:
    days = [date(2026, 11, 2), date(2026, 10, 31), date(2026, 11, 23), date(2025, 11, 23)]
    months = front.by_month(days)
    assert [m.label for m in months] == ["November 2026", "October 2026", "November 2025"]
    assert [[link.label for link in m.days] for m in months] == [
        ["Mon 23", "Mon 2"],
        ["Sat 31"],
        ["Sun 23"],
    ]
    assert front.by_month([]) == ()


def test_highlights_are_the_first_entries_of_each_section() -> None:
    entries = [entry(f"k{i}", f"Title {i}", ("cs.AI",)) for i in range(5)]
    entries.append(entry("both", "In both", ("cs.AI", "cs.CL")))
    digest = choose(RUN_DAY, title="t", new=entries)
    latest = front.latest(digest, count=3)
    assert latest is not None and latest.day == RUN_DAY and latest.entries == 6
    by_name = {c.category: c for c in latest.categories}
    assert by_name["cs.AI"].href == "digests/2026-11-23/index.html#c-cs.AI"
    ai = [h.title for h in by_name["cs.AI"].titles]
    assert len(ai) == 3 and by_name["cs.AI"].more == 3
    assert ai == [item.entry.title for item in digest.sections[0].items if item.see is None][:3]
    # Shown in full under one category only, but the only entry of the other: listed there.
    assert [h.title for h in by_name["cs.CL"].titles] == ["In both"]
    assert front.latest(None) is None
    assert front.latest(choose(RUN_DAY, title="t", new=[])) is None


def test_highlights_need_no_summaries_or_excerpts() -> None:
    """The page is built from the digest chosen without bodies (no TL;DR worked out
    for thousands of entries it lists by title), and is the same as from the full one."""
    entries = [
        replace(
            entry(f"k{i}", f"T {i}", ("cs.AI", "cs.LG")[: 1 + i % 2], "<p>Text.</p>"), sections=()
        )
        for i in range(7)
    ]
    asked: list[str] = []

    def summarise(e: Any) -> None:
        asked.append(e.key)

    full = choose(RUN_DAY, title="t", new=entries, summarise=summarise)
    assert len(asked) == 7 and any(item.excerpt for s in full.sections for item in s.items)
    asked.clear()
    titles = choose(RUN_DAY, title="t", new=entries, summarise=summarise, bodies=False)
    assert asked == []
    assert all(
        not item.excerpt and item.summary is None for s in titles.sections for item in s.items
    )
    assert front.latest(titles, count=2) == front.latest(full, count=2)


# -- the published page ----------------------------------------------------------------


def test_highlights_link_to_sections_of_the_latest_digest(built: Path) -> None:
    root = page(built)
    latest = root.get_element_by_id("latest")
    links = [a.get("href") for a in latest.iter("a")]
    assert links[0] == "digests/2026-11-23/index.html"
    titles = latest.xpath(".//ul[@class='titles']//a")
    assert titles and all(t.text_content().strip() for t in titles)
    for href in links[1:]:
        path, _, fragment = href.partition("#")
        assert path == "digests/2026-11-23/index.html" and fragment
        digest = lxml.html.fromstring((built / path).read_bytes())
        assert digest.get_element_by_id(fragment) is not None, href
    # The highlighted titles are the digest's own.
    digest_titles = {
        h.text_content().strip()
        for h in lxml.html.fromstring((built / "digests/2026-11-23/index.html").read_bytes()).iter(
            "h3"
        )
    }
    assert {t.text_content().strip() for t in titles} <= digest_titles


def test_every_digest_is_listed_by_month_and_exists(built: Path) -> None:
    root = page(built)
    section = root.get_element_by_id("digests")
    assert [h.text_content() for h in section.iter("h3")] == ["November 2026", "January 2026"]
    days = sorted(p.name for p in (built / "digests").iterdir())
    hrefs = [a.get("href") for a in section.iter("a")]
    assert hrefs == [
        href
        for day in reversed(days)
        for href in (f"digests/{day}/index.html", f"digests/{day}/digest.txt")
    ]
    assert all((built / href).is_file() for href in hrefs)


def test_each_feed_has_its_formats_and_how_to_subscribe(built: Path) -> None:
    root = page(built)
    section = root.get_element_by_id("feeds")
    feeds = sorted(p.name for p in (built / "feeds").iterdir())
    formats = [a.get("href") for a in section.xpath(".//ul[@class='formats']//a")]
    assert sorted(formats) == [f"feeds/{name}" for name in feeds]
    assert all((built / href).is_file() for href in formats)
    text = section.text_content()
    assert "How to subscribe" in text and "feeds.opml" in text
    # Autodiscovery: every feed in the head too.
    alternates = [link.get("href") for link in root.xpath("//head/link[@rel='alternate']")]
    assert sorted(alternates) == sorted(formats)


def test_the_file_has_no_search_box(built: Path) -> None:
    data = (built / "index.html").read_bytes()
    assert front.SEARCH_SLOT in data
    assert not page(built).xpath("//form")


def test_nothing_changed_means_the_same_bytes(tmp_path: Path) -> None:
    settings = load_config(None, cwd=tmp_path)
    run(settings, clock=lambda: NOW, run_date=RUN_DAY)
    index = settings.publish.output_dir / "index.html"
    first, stamp = index.read_bytes(), index.stat().st_mtime_ns
    run(settings, clock=lambda: NOW, run_date=RUN_DAY)
    assert index.read_bytes() == first
    assert index.stat().st_mtime_ns == stamp  # not even rewritten
    index.unlink()  # gone: written again, the same
    run(settings, clock=lambda: NOW, run_date=RUN_DAY)
    assert index.read_bytes() == first


# -- served ------------------------------------------------------------------------------


@pytest.fixture
def served(built: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The published folder served twice: with /search (as `aggregator serve` does),
    and as a plain file server."""
    site = tmp_path / "public"
    shutil.copytree(built, site)
    with_search = FeedServer(
        site,
        ("127.0.0.1", 0),
        search=lambda query: f"<p>results for {html.escape(query)}</p>",
        front_page=front.with_search_box,
    )
    plain = FeedServer(site, ("127.0.0.1", 0), front_page=front.with_search_box)
    threads = [
        threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True)
        for s in (with_search, plain)
    ]
    for thread in threads:
        thread.start()
    try:
        yield with_search.url, plain.url
    finally:
        for s in (with_search, plain):
            s.shutdown()
            s.server_close()
        for thread in threads:
            thread.join()


def get(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read(), dict(answer.headers)


def test_served_with_search_the_front_page_has_a_box_that_works(
    served: tuple[str, str], built: Path
) -> None:
    with_search, plain = served
    body, headers = get(with_search + "/")
    root = lxml.html.fromstring(body)
    (form,) = root.xpath("//form[@class='search']")
    assert form.get("action") == "/search" and form.get("method") == "get"
    assert [i.get("name") for i in form.xpath(".//input")] == ["q"]
    assert front.SEARCH_SLOT not in body
    # Its ETag is the served page's, not the file's.
    assert get(with_search + "/index.html")[1]["ETag"] == headers["ETag"]
    assert get(plain + "/")[1]["ETag"] != headers["ETag"]
    # The box's GET reaches the search page.
    found, _ = get(with_search + "/search?q=" + "diagnostics")
    assert b"results for q=diagnostics" in found
    # Nothing else is rewritten: a digest page comes as it is on disk.
    digest, _ = get(with_search + "/digests/2026-11-23/index.html")
    assert digest == (built / "digests/2026-11-23/index.html").read_bytes()


def test_served_without_search_the_front_page_is_the_file(
    served: tuple[str, str], built: Path
) -> None:
    _, plain = served
    body, _ = get(plain + "/")
    assert body == (built / "index.html").read_bytes()
    assert not lxml.html.fromstring(body).xpath("//form")


# -- in a browser ------------------------------------------------------------------------

PROBE = """
<script>
window.addEventListener("load", function () {
  var out = {};
  document.querySelectorAll("iframe").forEach(function (frame) {
    var doc = frame.contentDocument;
    var box = doc.querySelector("form.search");
    var container = doc.querySelector(".container");
    out[frame.width] = {
      scrollWidth: doc.documentElement.scrollWidth,
      clientWidth: doc.documentElement.clientWidth,
      containerWidth: container.getBoundingClientRect().width,
      boxRight: box ? box.getBoundingClientRect().right : -1,
      boxHeight: box ? box.getBoundingClientRect().height : -1,
      links: doc.querySelectorAll("#latest a").length,
      background: getComputedStyle(container).backgroundColor,
      color: getComputedStyle(doc.body).color,
      link: getComputedStyle(doc.querySelector("#latest a")).color
    };
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def measure(page_html: str, *, dark: bool) -> dict[int, dict[str, Any]]:
    frames = "".join(
        f'<iframe width="{w}" height="2000" srcdoc="{html.escape(page_html)}"></iframe>'
        for w in (900, 360)
    )
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "page.html"
        probe.write_text(f"<!DOCTYPE html><html><body>{frames}{PROBE}</body></html>", "utf-8")
        args = chromium(Path(scratch) / "profile", "--window-size=1400,2200", "--dump-dom")
        args.append(probe.as_uri())
        if dark:
            args[1:1] = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium printed no measurements: {done.stderr[-2000:]}"
    return {int(k): v for k, v in json.loads(html.unescape(found.group(1))).items()}


def luminance(css_color: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@needs_chromium
def test_the_page_reads_on_a_phone_and_in_the_dark(built: Path) -> None:
    served_page = front.with_search_box((built / "index.html").read_bytes()).decode()
    # A long unbroken title must not widen the page on a phone.
    served_page = served_page.replace("</ul>", f"<li><a href='#'>{'x' * 300}</a></li></ul>", 1)
    light = measure(served_page, dark=False)
    dark = measure(served_page, dark=True)
    for width in (900, 360):
        got = light[width]
        assert got["scrollWidth"] <= width, (width, got)
        assert got["links"] > 3, got
        assert 0 < got["boxRight"] <= got["clientWidth"] and got["boxHeight"] > 10, got
    assert light[900]["containerWidth"] == 680
    assert light[360]["containerWidth"] == light[360]["clientWidth"]
    assert luminance(light[900]["background"]) > 0.9 and luminance(light[900]["color"]) < 0.3
    assert luminance(dark[900]["background"]) < 0.2 and luminance(dark[900]["color"]) > 0.7
    assert luminance(dark[360]["link"]) > 0.5


def test_highlights_follow_the_default_profile_like_the_digest(tmp_path: Path) -> None:
    # The sample sources; [interests] puts the third article of the latest day first.
    sources = (ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    sources = "[[sources]]" + sources.split("[[sources]]", 1)[1]
    config = tmp_path / "aggregator.toml"
    config.write_text(
        '[interests]\nkeywords = ["深層学習"]\n\n'
        + sources.replace('path = "seeds/', f'path = "{SEEDS}/'),
        encoding="utf-8",
    )
    settings = load_config(config)
    run(settings, clock=lambda: NOW, run_date=RUN_DAY)
    out = settings.publish.output_dir
    latest = page(out).get_element_by_id("latest")
    titles = [a.text_content() for a in latest.xpath(".//ul[@class='titles']//a")]
    assert titles and "深層学習" in titles[0]
    digest = lxml.html.fromstring((out / "digests/2026-11-23/index.html").read_bytes())
    shown = [h.text_content().strip() for h in digest.iter("h3")]
    assert titles == shown[: len(titles)]
