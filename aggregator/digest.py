"""Digests: choosing a day's entries (pure) and rendering them (Jinja2, CSS inlined).

Owns what goes into a day's digest and how it looks as email-ready HTML and as
plain text with the same content. Never sends mail and never writes files: the
pipeline hands the rendered text to the publish stage's writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import css_inline

from . import templating
from .normalize import html_to_text
from .types import StoredEntry

#: Longest excerpt of an article's body shown in a digest, in characters.
EXCERPT_CHARS = 400


@dataclass(frozen=True)
class DigestItem:
    """One entry as a digest shows it."""

    entry: StoredEntry
    #: "new" (first seen that day) or "updated" (changed that day).
    status: str
    excerpt: str


@dataclass(frozen=True)
class DigestSection:
    category: str
    items: tuple[DigestItem, ...]

    @property
    def new_count(self) -> int:
        return sum(1 for item in self.items if item.status == "new")

    @property
    def updated_count(self) -> int:
        return sum(1 for item in self.items if item.status == "updated")


@dataclass(frozen=True)
class Digest:
    day: date
    title: str
    sections: tuple[DigestSection, ...]

    @property
    def entry_count(self) -> int:
        """Distinct entries (an entry in two categories counts once)."""
        return len({item.entry.key for s in self.sections for item in s.items})

    @property
    def is_empty(self) -> bool:
        return not self.sections


def excerpt(entry: StoredEntry, limit: int = EXCERPT_CHARS) -> str:
    """A short plain-text taste of an entry without structured sections."""
    if entry.sections:
        return ""
    text = html_to_text(entry.summary) or html_to_text(entry.content)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def choose(
    day: date, *, title: str, new: Iterable[StoredEntry], updated: Iterable[StoredEntry] = ()
) -> Digest:
    """Group a day's entries by category, new ones before updated ones.

    ``new`` are entries whose digest day is ``day``, in arrival order; ``updated``
    are older entries that changed that day. An entry in several categories is
    shown in each.
    """
    by_category: dict[str, list[DigestItem]] = {}
    seen: set[str] = set()
    for status, entries in (("new", new), ("updated", updated)):
        for entry in entries:
            if entry.key in seen:
                continue
            seen.add(entry.key)
            item = DigestItem(entry=entry, status=status, excerpt=excerpt(entry))
            for category in entry.categories or ("uncategorised",):
                by_category.setdefault(category, []).append(item)
    sections = tuple(
        DigestSection(
            category=name,
            items=tuple(sorted(items, key=lambda i: i.status != "new")),
        )
        for name, items in sorted(by_category.items())
    )
    return Digest(day=day, title=title, sections=sections)


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str


_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def render(digest: Digest, *, base_url: str) -> Rendered:
    """The digest as email-ready HTML (CSS inlined) and as plain text."""
    env = templating.environment()
    context = {"digest": digest, "base_url": base_url}
    html = env.get_template("digest.html").render(context)
    text = env.get_template("digest.txt").render(context)
    return Rendered(html=_INLINER.inline(html), text=text)
