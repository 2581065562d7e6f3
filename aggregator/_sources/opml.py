"""OPML 2.0, the format feed readers exchange subscriptions in. Pure: text in, text out.

Owns reading outlines with an ``xmlUrl`` (their title, and their categories from the
``category`` attribute or the folder outlines around them) and writing the configured
URL sources as OPML, one folder per first category. Never touches the config file
(see :mod:`aggregator.config.file`) or the network.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from .._fetch.decoding import screen_entities
from ..config.sources import Source
from ..errors import ParseError


@dataclass(frozen=True)
class Subscription:
    """One feed found in an OPML file."""

    title: str
    url: str
    categories: tuple[str, ...] = ()


def read(data: bytes, *, origin: str) -> list[Subscription]:
    """The feeds of an OPML document, in document order. Raises ParseError."""
    screen_entities(data, source=origin)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise ParseError(
            f"not valid OPML (XML error: {err})",
            source=origin,
            hint="export the subscriptions again from the feed reader",
        ) from err
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ParseError(
            f"not an OPML file: the document starts with <{root.tag}>, not <opml><body>",
            source=origin,
        )
    found: list[Subscription] = []
    _walk(body, (), found)
    return found


def _walk(element: ET.Element, folders: tuple[str, ...], found: list[Subscription]) -> None:
    for outline in element.findall("outline"):
        title = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url:
            categories = _categories(outline.get("category")) or folders[-1:]
            found.append(Subscription(title or url, url, categories))
        _walk(outline, (*folders, title) if title and not url else folders, found)


def _categories(value: str | None) -> tuple[str, ...]:
    """OPML's ``category``: comma-separated, each possibly a /slash/path (last part counts)."""
    names = []
    for item in (value or "").split(","):
        last = item.strip().strip("/").rsplit("/", 1)[-1].strip()
        if last:
            names.append(last)
    return tuple(dict.fromkeys(names))


def write(sources: Iterable[Source], *, title: str) -> bytes:
    """The URL sources as an OPML 2.0 document, a folder per first category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for source in sources:
        if source.url is None:
            continue
        parent = body
        if source.categories:
            folder = source.categories[0]
            if folder not in folders:
                folders[folder] = ET.SubElement(body, "outline", text=folder, title=folder)
            parent = folders[folder]
        attributes = {"type": "rss", "text": source.name, "title": source.name}
        attributes["xmlUrl"] = source.url
        if source.categories:
            attributes["category"] = ",".join(f"/{name}" for name in source.categories)
        ET.SubElement(parent, "outline", attributes)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def slug(title: str) -> str:
    """A source name made from a title: lower case, ASCII letters, digits and dashes."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:60].strip("-") or "feed"
