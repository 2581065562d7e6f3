"""``normalize.html_to_text`` against its definition: the text it returns feeds stored
hashes (near-duplicate work keys), so its shortcuts must never change a character."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from aggregator._update.normalize import html_to_text

_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"(?is)<(script|style)\b[^>]*(?:>|\Z).*?(?:</\1\b[^>]*(?:>|\Z)|\Z)")
_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(?:p|div|li|h\d|tr|blockquote|pre)>")
_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_SPACE_AROUND_BREAK = re.compile(r"[^\S\n]*\n[^\S\n]*")
_BLANK_LINES = re.compile(r"\n{3,}")


def definition(value: str) -> str:
    """What html_to_text returns, one whole-text pass per rule (as it was written first)."""
    if not value:
        return ""
    value = _BLOCK_END.sub("\n", _HIDDEN.sub("", value))
    end = value.rfind(">") + 1
    text = html.unescape(_TAG.sub("", value[:end]) + value[end:])
    text = _SPACE.sub(" ", _LINE_BREAK.sub("\n", text))
    text = _SPACE_AROUND_BREAK.sub("\n", text.strip())
    return _BLANK_LINES.sub("\n\n", text).strip()


# Markup, entities, every kind of line break and white space, and words.
PIECES = [
    "<", ">", "<>", "<p>", "</p>", "<br/>", "<BR >", "</div>", "</pre>", "<h2>", "<a href='x'>",
    "<script>x()</script>", "<style", "<s", "<S", "&amp;", "&lt;", "&#13;", "&#10;", "&nbsp;",
    " ", "  ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
    "\u2028", "\u2029", "\xa0", "\u2003", "\u3000", "\n\n\n", " \n ",
    "a", "word", "大", "é",
]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_html_to_text_is_its_definition(value: str) -> None:
    assert html_to_text(value) == definition(value)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_html_to_text_is_its_definition_on_any_text(value: str) -> None:
    assert html_to_text(value) == definition(value)


def test_html_to_text_of_an_article() -> None:
    article = (
        "<p>First  paragraph,\twith <a href='/x'>a link</a> &amp; an entity.</p>\r\n"
        "<pre><code>for x in y:\n    print(x &lt; 5)</code></pre>\n\n\n\n"
        "<p> Last\u2028line </p><script>alert(1)</script>"
    )
    expected = (
        "First paragraph, with a link & an entity.\n\nfor x in y:\nprint(x < 5)\n\nLast\nline"
    )
    assert html_to_text(article) == definition(article) == expected
