"""The digest email as a browser lays it out: headless Chromium, light and dark, 700 and 360 px.

Mail clients are browsers with restrictions; if the HTML does not fit 700 px in
Chromium it will not fit in Gmail or Apple Mail either. Skipped (with the reason)
only when no Chromium is installed; `.ci/run` installs it.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, needs_chromium
from conftest import NOW, SEEDS
from test_email_digest import email_settings, entry, subscriber

from aggregator._mail.digest import render_email
from aggregator._output.digest import choose
from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.core import build_digest, run

pytestmark = needs_chromium

WIDTHS = (700, 360)

PROBE = """
<script>
window.addEventListener("load", function () {
  var out = {};
  document.querySelectorAll("iframe").forEach(function (frame) {
    var doc = frame.contentDocument, body = doc.body;
    var container = doc.querySelector(".container");
    var titles = Array.prototype.filter.call(doc.querySelectorAll("h3"), function (h) {
      return h.offsetHeight > 0 && h.textContent.trim().length > 0;
    });
    var pre = doc.querySelector(".preheader");
    out[frame.width] = {
      scrollWidth: doc.documentElement.scrollWidth,
      clientWidth: doc.documentElement.clientWidth,
      containerWidth: container.getBoundingClientRect().width,
      text: body.innerText.length,
      titles: titles.length,
      preheaderHeight: pre ? pre.getBoundingClientRect().height : -1,
      background: getComputedStyle(container).backgroundColor,
      color: getComputedStyle(doc.querySelector(".entry")).color
    };
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def measure(email_html: str, *, dark: bool) -> dict[str, dict[str, Any]]:
    frames = "".join(
        f'<iframe width="{w}" height="3000" srcdoc="{html.escape(email_html)}"></iframe>'
        for w in WIDTHS
    )
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "page.html"
        page.write_text(f"<!DOCTYPE html><html><body>{frames}{PROBE}</body></html>", "utf-8")
        args = chromium(
            Path(scratch) / "profile",
            "--window-size=1200,3200",
            "--dump-dom",
            page.as_uri(),
        )
        if dark:
            args[1:1] = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium printed no measurements: {done.stderr[-2000:]}"
    return {int(k): v for k, v in json.loads(html.unescape(found.group(1))).items()}


def luminance(css_color: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.fixture(scope="module")
def email_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample list's digest for a subscriber of everything, plus a hostile entry."""
    folder = tmp_path_factory.mktemp("render")
    settings = load_config(None, cwd=folder)
    run(settings, clock=lambda: NOW, run_date=date(2026, 11, 23))
    with Store(settings.storage.database) as store:
        digest = build_digest(settings, store, date(2026, 1, 14))
        articles = build_digest(settings, store, date(2026, 11, 23))
    unbreakable = entry("long", "https://example.org/" + "a" * 300, ("cs.AI",), "b" * 500)
    extra = choose(digest.day, title=digest.title, new=[unbreakable])
    digest = replace(digest, sections=digest.sections + articles.sections + extra.sections)
    # The whole digest, uncut: this test is about layout, test_email_digest about the cut.
    content = render_email(
        digest,
        subscriber=subscriber(),
        settings=email_settings(max_html_bytes=1_000_000),
        base_url="https://e.org/",
    )
    assert content.html is not None and content.limit is None
    assert SEEDS.is_dir()
    return content.html


def test_the_email_fits_700_px_and_phones_and_is_not_blank(email_html: str) -> None:
    light = measure(email_html, dark=False)
    for width in WIDTHS:
        got = light[width]
        assert got["scrollWidth"] <= width, (width, got)
        assert got["text"] > 5000 and got["titles"] == 43, got
        assert got["preheaderHeight"] == 0, "the preheader is for the inbox list only"
    assert light[700]["containerWidth"] == 680
    assert light[360]["containerWidth"] == light[360]["clientWidth"], "fluid on phones"
    assert luminance(light[700]["background"]) > 0.9


def test_dark_mode_turns_the_page_dark_with_light_text(email_html: str) -> None:
    dark = measure(email_html, dark=True)[700]
    assert luminance(dark["background"]) < 0.2, dark
    assert luminance(dark["color"]) > 0.7, dark
