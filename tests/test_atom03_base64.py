"""Atom 0.3 ``mode="base64"`` text whose type is left at Atom 0.3's default
(text/plain) but which is markup: published as markup, not as escaped tags.

The fixture has the shape of feedparser's corpus case
(``tests/wellformed/atom/entry_content_mode_base64.xml``: ``Example <b>Atom</b>``),
with our own text. Through a whole run, with both parser settings (Atom 0.3 always
goes through feedparser), read back from the published Atom and JSON feeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom

from aggregator.config.settings import load_config
from aggregator.core import run

FIXTURE = Path(__file__).parent / "data" / "feeds" / "atom03-base64.xml"


@pytest.mark.parametrize("parser", ["auto", "feedparser"])
def test_base64_markup_is_published_as_markup(
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
    parser: str,
) -> None:
    config = write_config(
        f'[fetch]\nparser = "{parser}"\n'
        f'[[sources]]\nname = "lab"\npath = "{FIXTURE}"\ncategories = ["lab"]\n'
    )
    assert not run(load_config(config), clock=clock).failed
    data = (tmp_path / "public" / "feeds" / "lab.atom").read_bytes()
    validate_atom(data)
    entries = {e.link.rsplit("/", 1)[1]: e for e in feedparser.parse(data).entries}

    notes = entries["notes"]
    assert notes.content[0].value == "Lab notes with <b>bold</b> and <i>italic</i> words."
    assert notes.summary == "A summary in <em>markup</em>."
    assert "&lt;b&gt;" not in notes.content[0].value

    # Markup in a base64 title is read as HTML too: its text, with the escaped tag
    # name shown as the text it is.
    history = entries["history"]
    assert history.title == "History of the <marquee> tag"
    assert history.content[0].value == "<p>History of the &lt;marquee&gt; tag</p>"

    # Plain text without tags stays plain text (escaped once, shown as written).
    plain = entries["plain"]
    assert plain.content[0].value == "When a &lt; b and b &gt; c, then a &lt; c."

    document = json.loads((tmp_path / "public" / "feeds" / "lab.json").read_bytes())
    html = {i["url"].rsplit("/", 1)[1]: i["content_html"] for i in document["items"]}
    assert html["notes"] == "Lab notes with <b>bold</b> and <i>italic</i> words."
