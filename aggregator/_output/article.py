"""The fetched article of a ``fetch_full_text`` entry, as a digest shows it.

Owns cutting an article (the entry's content, extracted from its page) to a readable
excerpt for the digest: whole blocks (paragraphs, headings, lists, quotes) up to a size
budget, the last block cut at a word when one alone is too long, images and tables
left out, the markup cleaned again with nh3 to a small set of tags (what a mail client
shows well), and the same excerpt as plain text for the text part. The budget is in
UTF-8 bytes of text and is shared by the digest's articles, so that a digest of 50
full-text entries stays well under Gmail's 102 KB clipping limit (see
:func:`budget_per_article`).

Pure: no I/O. Never decides which entries have an article (the digest does).
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
import nh3
from lxml import etree

from .._update.normalize import html_to_text

#: UTF-8 bytes of article text one digest shows in all (split among its articles).
DIGEST_BUDGET = 30_000
#: The most and the least one article gets (a digest of one article; of a hundred).
MOST_PER_ARTICLE = 3_000
LEAST_PER_ARTICLE = 300
#: What an excerpt's markup may use: text structure and links, nothing that loads.
TAGS = frozenset(
    {"p", "a", "em", "strong", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "br"}
    | {"h2", "h3", "h4"}
)
_DROPPED = ("img", "figure", "picture", "video", "audio", "table", "iframe", "svg", "script")
_HEADINGS = {"h1": "h2", "h5": "h4", "h6": "h4"}


@dataclass(frozen=True)
class Article:
    """An article excerpt: clean HTML, its plain text, and whether it was cut."""

    html: str
    text: str
    truncated: bool


def budget_per_article(count: int) -> int:
    """The bytes of text each of ``count`` articles in one digest may show."""
    if count <= 0:
        return MOST_PER_ARTICLE
    return max(LEAST_PER_ARTICLE, min(MOST_PER_ARTICLE, DIGEST_BUDGET // count))


def excerpt(content: str | None, limit: int = MOST_PER_ARTICLE) -> Article | None:
    """The first ``limit`` bytes (UTF-8) of text of ``content``, in whole blocks;
    ``None`` when it has no text."""
    if not content or not content.strip():
        return None
    try:
        blocks = lxml.html.fragments_fromstring(content)
    except (etree.ParserError, ValueError):
        return None
    kept: list[str] = []
    used = 0
    truncated = False
    for part in blocks:
        block = _paragraph(part) if isinstance(part, str) else part
        if not isinstance(block, lxml.html.HtmlElement):
            continue  # a comment or processing instruction
        _simplify(block)
        size = len(" ".join(block.text_content().split()).encode("utf-8"))
        if not size:
            continue
        if used + size > limit:
            truncated = True
            if used == 0 or limit - used >= LEAST_PER_ARTICLE // 2:
                kept.append(_cut(block, limit - used))
            break
        kept.append(str(lxml.html.tostring(block, encoding="unicode")))
        used += size
    cleaned = nh3.clean(
        "".join(kept),
        tags=set(TAGS),
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()
    if not cleaned:
        return None
    text = "\n\n".join(line for line in html_to_text(cleaned).split("\n") if line.strip())
    return Article(html=cleaned, text=text, truncated=truncated)


def _paragraph(text: str) -> lxml.html.HtmlElement:
    element = lxml.html.Element("p")
    element.text = text
    return element


def _simplify(block: lxml.html.HtmlElement) -> None:
    """Drop what loads or does not read well in a mail (images, tables), and make
    headings fit under the entry's title."""
    for element in list(block.iter(*_DROPPED)):
        if element is block:
            block.clear()
            return
        parent = element.getparent()
        if parent is not None:
            element.drop_tree()
    for element in block.iter(*_HEADINGS):
        element.tag = _HEADINGS[str(element.tag)]


def _cut(block: lxml.html.HtmlElement, room: int) -> str:
    """The block's text as one paragraph, cut within ``room`` bytes, with "…"."""
    words = " ".join(block.text_content().split())
    data = words.encode("utf-8")[: max(room, 1)]
    text = data.decode("utf-8", errors="ignore")
    if len(text) < len(words):
        # At a word, unless the text has none near the end (Chinese, Japanese).
        head = text.rsplit(" ", 1)[0]
        text = head if len(head) >= 0.8 * len(text) else text
    paragraph = _paragraph(text.rstrip(" ,;:") + "…")
    return str(lxml.html.tostring(paragraph, encoding="unicode"))
