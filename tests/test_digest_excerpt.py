"""Digest excerpts read only the beginning of long HTML, with the same result."""

from __future__ import annotations

import random

from aggregator._output.digest import _text_start
from aggregator._update.normalize import html_to_text

PARTS = [
    "word ", "x", " ", "\n", "<p>", "</p>", "<b>", "</b>", "&amp;", "&lt;", "&#233;",
    "<br/>", '<a href="http://e.org/a>b">', "</a>", "字", "<!-- c -->", "\t", "&nbsp;",
    "long" * 10, "<img src='x'>",
]  # fmt: skip


def whole(value: str, limit: int) -> str:
    """The excerpt as computed from the whole text."""
    text = " ".join(html_to_text(value).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cut(value: str, limit: int) -> str:
    text = _text_start(value, limit)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def test_excerpts_from_the_beginning_equal_excerpts_from_the_whole() -> None:
    rnd = random.Random(2)
    long_ones = 0
    for _ in range(3000):
        value = "".join(rnd.choice(PARTS) for _ in range(rnd.randint(0, 600)))
        limit = rnd.choice([10, 50, 400])
        long_ones += len(value) > 4 * (limit + 32)
        assert cut(value, limit) == whole(value, limit), (limit, value)
    assert long_ones > 1000  # the shortcut itself was exercised


def test_a_tag_or_entity_cut_in_two_at_the_edge_changes_nothing() -> None:
    limit = 20
    for edge in ('<a href="http://example.org/a-long-link">', "&amp;", "&#233;", "<br/>"):
        for shift in range(len(edge) + 1):
            value = "a " * (2 * (limit + 32) - shift) + edge + "tail " * 50
            assert cut(value, limit) == whole(value, limit)


def test_plain_text_takes_the_shortcut_with_the_same_result() -> None:
    # Text without "<" or "&" is not converted at all: every kind of white space and
    # line break str.splitlines and html_to_text know, around words and CJK.
    plain = [
        "word", "字", " ", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85",
        "\xa0", "\u2028", "\u3000", "long" * 10, ">", "x>y", ";",
    ]  # fmt: skip
    rnd = random.Random(3)
    for _ in range(3000):
        value = "".join(rnd.choice(plain) for _ in range(rnd.randint(0, 400)))
        limit = rnd.choice([10, 50, 400])
        assert cut(value, limit) == whole(value, limit), (limit, value)
