"""A long digest is navigable: a table of contents per category with counts, section
ids that are safe whatever the category, links to the previous and next days that have
a digest (kept right as days appear and go, without re-rendering days for nothing),
and a contents list in the text digest. The jumps are checked in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import lxml.html
from browser import chromium, needs_chromium
from conftest import NOW
from test_email_digest import entry

from aggregator._output.digest import DayLinks, anchor, choose, day_links, relinked_days, render
from aggregator.config.settings import Settings, load_config
from aggregator.core import run

D1, D2, D3, D4 = (date(2026, 11, day) for day in (20, 21, 23, 24))
HOSTILE_CATEGORIES = (
    "cs.AI",
    "CS.AI",
    "a b",
    '"><script>alert(1)</script>',
    "x" * 300,
    "研究/ニュース",
    "#contents",
)


def test_day_links_are_the_nearest_days_on_either_side() -> None:
    days = [D1, D3, D4]
    assert day_links(days, D1) == DayLinks(None, D3)
    assert day_links(days, D3) == DayLinks(D1, D4)
    assert day_links(days, D4) == DayLinks(D3, None)
    assert day_links(days, D2) == DayLinks(D1, D3)  # a day without a digest of its own
    assert day_links([], D2) == DayLinks()


def test_a_day_that_comes_or_goes_relinks_only_its_neighbours() -> None:
    assert relinked_days([D1, D2, D3, D4], added=[D2]) == {D1, D3}
    assert relinked_days([D1, D3, D4], removed=[D2]) == {D1, D3}
    assert relinked_days([D3, D4], removed=[D1]) == {D3}
    assert relinked_days([D1, D3, D4], added=[D4]) == {D3}
    assert relinked_days([D1, D3, D4]) == set()


def test_section_ids_are_safe_distinct_and_every_link_lands() -> None:
    entries = [
        entry(f"k{i}", f"Title {i}", (category, "cs.AI"))
        for i, category in enumerate(HOSTILE_CATEGORIES)
    ]
    digest = choose(D3, title="Digest", new=entries)
    page = render(digest, base_url="https://example.org/").html
    tree = lxml.html.fromstring(page)
    ids = [element.get("id") for element in tree.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    for section in digest.sections:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", anchor(section.category)), section.category
        assert anchor(section.category) in ids
    fragments = [a.get("href")[1:] for a in tree.iter("a") if a.get("href", "").startswith("#")]
    assert fragments and all(fragment in ids for fragment in fragments)
    assert "<script>alert" not in page


def test_the_contents_list_every_category_with_its_counts() -> None:
    entries = [entry("a1", "One", ("cs.AI",)), entry("a2", "Two", ("cs.AI", "cs.CL"))]
    digest = choose(D3, title="Digest", new=entries)
    rendered = render(digest, base_url="https://example.org/", links=DayLinks(D1, D4))
    tree = lxml.html.fromstring(rendered.html)
    contents = tree.get_element_by_id("contents")
    items = [" ".join(li.text_content().split()) for li in contents.iter("li")]
    assert items == ["cs.AI (2 new)", "cs.CL (1 new)"]
    assert [a.get("href") for a in contents.iter("a")] == ["#c-cs.AI", "#c-cs.CL"]
    assert "2 entries in 2 categories" in " ".join(tree.text_content().split())
    assert "Contents:\n  cs.AI (2 new)\n  cs.CL (1 new)\n" in rendered.text
    assert "2 entries in 2 categories" in rendered.text
    prev = tree.xpath("//a[@rel='prev']/@href")
    following = tree.xpath("//a[@rel='next']/@href")
    assert set(prev) == {"../2026-11-20/index.html"}
    assert set(following) == {"../2026-11-24/index.html"}
    one = render(choose(D3, title="D", new=entries[:1]), base_url="https://example.org/")
    assert "1 entry in 1 category" in one.text and "Contents:" not in one.text


# -- pages across runs ------------------------------------------------------------------


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{key}</link>"
        f"<guid>https://example.org/{key}</guid><category>news</category></item>"
        for key, title in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.org/</link><description>d</description>{body}</channel></rss>"
    )


class Site:
    """A feed file the test edits, and runs of the real pipeline at fixed times."""

    def __init__(self, folder: Path, keep_days: int = 0) -> None:
        self.folder = folder
        self.items: list[tuple[str, str]] = []
        (folder / "aggregator.toml").write_text(
            f'[storage]\ndatabase = "agg.db"\nkeep_days = {keep_days}\n'
            '[[sources]]\nname = "news"\npath = "news.rss"\nentry_categories = true\n',
            encoding="utf-8",
        )
        self.settings: Settings = load_config(folder / "aggregator.toml")

    def run(self, day: date, *titles: str) -> None:
        self.items += [(f"{day}-{len(self.items) + i}", title) for i, title in enumerate(titles)]
        (self.folder / "news.rss").write_text(rss(self.items), encoding="utf-8")
        now = datetime.combine(day, time(7, 30), UTC)
        summary = run(self.settings, clock=lambda: now, run_date=day)
        assert not summary.failed, summary.failed

    def page(self, day: date) -> Path:
        return self.folder / "public" / "digests" / day.isoformat() / "index.html"

    def links(self, day: date) -> tuple[str | None, str | None]:
        tree = lxml.html.fromstring(self.page(day).read_text(encoding="utf-8"))
        prev = set(tree.xpath("//a[@rel='prev']/@href")) or {None}
        following = set(tree.xpath("//a[@rel='next']/@href")) or {None}
        assert len(prev) == len(following) == 1  # the same at the top and the bottom
        return prev.pop(), following.pop()

    def stamps(self) -> dict[date, int]:
        folder = self.folder / "public" / "digests"
        return {
            date.fromisoformat(p.name): (p / "index.html").stat().st_mtime_ns
            for p in folder.iterdir()
        }


def href(day: date) -> str:
    return f"../{day.isoformat()}/index.html"


def test_a_new_day_gives_the_previous_day_its_next_link(tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.run(D1, "First")
    assert site.links(D1) == (None, None)
    site.run(D3, "Third")
    assert site.links(D1) == (None, href(D3))
    assert site.links(D3) == (href(D1), None)

    before = site.stamps()
    site.run(D3)  # nothing new: nothing rendered again
    assert site.stamps() == before
    site.run(D3, "Third, again")  # a change to D3 alone leaves D1 as it was
    after = site.stamps()
    assert after[D1] == before[D1] and after[D3] != before[D3]

    site.run(D2, "Second")  # a day in between relinks both neighbours
    assert site.links(D1) == (None, href(D2))
    assert site.links(D2) == (href(D1), href(D3))
    assert site.links(D3) == (href(D2), None)


def test_a_pruned_day_is_no_longer_linked(tmp_path: Path) -> None:
    old = date(2026, 10, 24)
    site = Site(tmp_path, keep_days=30)
    site.run(old, "Old")
    site.run(D1, "First")
    assert site.links(D1) == (href(old), None)
    site.items = [item for item in site.items if item[1] != "Old"]  # gone from the feed too
    site.run(date(2026, 11, 25))  # nothing new; "Old" is now over 30 days old
    assert not site.page(old).exists()
    assert site.links(D1) == (None, None)


# -- in a browser -----------------------------------------------------------------------

PROBE = """
<script>
window.addEventListener("load", function () {
  var out = [];
  var root = document.documentElement;
  document.querySelectorAll("#contents a[href^='#']").forEach(function (link) {
    link.click();
    var target = document.getElementById(link.getAttribute("href").slice(1));
    out.push({
      href: link.getAttribute("href"),
      found: target !== null,
      top: target ? target.getBoundingClientRect().top : null,
      scrollY: window.scrollY,
      atBottom: window.scrollY + window.innerHeight >= root.scrollHeight - 1,
      height: window.innerHeight
    });
  });
  document.querySelector(".top a").click();
  out.push({href: "#contents", found: true, scrollY: window.scrollY,
            top: document.getElementById("contents").getBoundingClientRect().top,
            atBottom: false, height: window.innerHeight});
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


@needs_chromium
def test_contents_links_jump_to_their_sections_in_a_browser(tmp_path: Path) -> None:
    settings = load_config(None, cwd=tmp_path)
    run(settings, clock=lambda: NOW, run_date=date(2026, 11, 23))
    page = (tmp_path / "public" / "digests" / "2026-01-14" / "index.html").read_text("utf-8")
    assert page.count('<li><a href="#c-') == 3
    probed = tmp_path / "probe.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            chromium(
                Path(scratch) / "profile",
                "--window-size=800,600",
                "--dump-dom",
                probed.as_uri(),
            ),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium printed no measurements: {done.stderr[-2000:]}"
    jumps: list[dict[str, Any]] = json.loads(html.unescape(found.group(1)))
    *sections, back = jumps
    assert [jump["href"] for jump in sections] == ["#c-cs.AI", "#c-cs.CL", "#c-cs.LG"]
    for jump in sections:
        assert jump["found"], jump
        # The section's heading is at the top of the window, or the page ends first.
        assert abs(jump["top"]) <= 2 or (jump["atBottom"] and 0 <= jump["top"] < jump["height"])
    scrolled = [jump["scrollY"] for jump in sections]
    assert scrolled == sorted(scrolled) and scrolled[-1] > scrolled[0] > 0, scrolled
    assert abs(back["top"]) <= 2 and back["scrollY"] < scrolled[0], back
