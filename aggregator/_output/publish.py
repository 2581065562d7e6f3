"""Publishing: Atom 1.0 feeds per category, the index page, and the one file writer.

Writes feeds as Atom text from stored entries (it never queries SQL itself: the
pipeline hands it entries). Every output file of aggregator goes through
:func:`write_atomic`: written to a temporary file in the same folder, flushed and
renamed over the old one, and not touched at all when the bytes are unchanged.
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import re
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from html import escape
from pathlib import Path
from typing import BinaryIO

from .._common import resources, safety
from .._common.faults import pause_point
from .._common.version import __version__
from .._update import normalize
from ..errors import PublishError
from ..types import PublishedFile, StoredEntry
from . import front, templating

ATOM_NS = "http://www.w3.org/2005/Atom"
ALL = "all"


def rfc3339(value: datetime) -> str:
    """``2026-01-14T00:00:00Z``: UTC, second precision, as Atom readers expect."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_filenames(categories: Iterable[str]) -> dict[str, str]:
    """A safe, stable file name for each category's feed (``cs.AI`` -> ``cs.AI.atom``).

    A category from a feed can be anything (see ``safety.file_stem``): a name that is
    not a plain, short, ASCII file name, a name Windows reserves, ``all`` (the feed of
    everything) or one that differs from another only in case (``cs.AI``, ``cs.ai``:
    one file on a case-insensitive file system; the first in sorted order keeps its
    name) gets a hash suffix, the same on every run whatever the order of
    ``categories``. Names that were safe before keep the file they always had.
    """
    stems = safety.distinct_stems(list(categories), reserved=_RESERVED_STEMS, fallback="category")
    return {category: f"{stem}.atom" for category, stem in stems.items()}


#: Stems other files in ``feeds/`` use.
_RESERVED_STEMS = frozenset({ALL})


def feed_id(base_url: str, category: str | None) -> str:
    """A stable feed ``atom:id``, distinct per installation (base URL) and category."""
    name = f"{base_url}feeds/{category or ALL}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def entry_html(entry: StoredEntry) -> str | None:
    """The entry's body as HTML: its content, or its structured sections and PDF link."""
    parts: list[str] = []
    if entry.content:
        parts.append(entry.content)
    for heading, text in entry.sections:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
        parts.append(f"<h3>{escape(heading)}</h3>{paragraphs}")
    if entry.pdf_url:
        parts.append(f'<p><a href="{escape(entry.pdf_url)}">PDF</a></p>')
    return "\n".join(parts) or None


def build_feed(
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    fallback_updated: datetime,
) -> bytes:
    """An Atom 1.0 document for ``entries`` (already newest first).

    The feed's ``updated`` is its newest entry's; ``fallback_updated`` is used only
    for a feed with no entries.
    """
    newest = max((e.updated for e in entries), default=fallback_updated)
    # Written as text, not through an element tree: a feed is a fixed shape, and the
    # tree cost four times as much per entry (issue 8: 100 feeds in under a second).
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n",
        f'<feed xmlns="{ATOM_NS}">\n',
        f"  <id>{_escape(feed_id(base_url, category))}</id>\n",
        f"  <title>{_escape(title)}</title>\n",
        f"  <updated>{rfc3339(newest)}</updated>\n",
        f'  <link rel="self" type="application/atom+xml" href="{_attr(self_href)}"/>\n',
        f'  <link rel="alternate" type="text/html" href="{_attr(base_url)}"/>\n',
        "  <author>\n    <name>aggregator</name>\n  </author>\n",
        f'  <generator version="{_attr(__version__)}">aggregator</generator>\n',
    ]
    for entry in entries:
        _entry(entry, parts)
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def _entry(entry: StoredEntry, parts: list[str]) -> None:
    entry = normalize.stored_links(entry)  # a row stored before links were checked
    parts.append("  <entry>\n")
    parts.append(f"    <id>{_escape(entry.atom_id)}</id>\n")
    parts.append(f'    <title type="text">{_escape(entry.title)}</title>\n')
    parts.append(f"    <updated>{rfc3339(entry.updated)}</updated>\n")
    if entry.published:
        parts.append(f"    <published>{rfc3339(entry.published)}</published>\n")
    for name in entry.authors:
        parts.append(f"    <author>\n      <name>{_escape(name)}</name>\n    </author>\n")
    if entry.link:
        parts.append(f'    <link rel="alternate" type="text/html" href="{_attr(entry.link)}"/>\n')
    if entry.pdf_url and entry.pdf_url != entry.link:
        parts.append(
            f'    <link rel="related" type="application/pdf" href="{_attr(entry.pdf_url)}"/>\n'
        )
    for category in entry.categories:
        parts.append(f'    <category term="{_attr(category)}"/>\n')
    if entry.summary:
        parts.append(f'    <summary type="html">{_escape(entry.summary)}</summary>\n')
    body = entry_html(entry)
    if body:
        parts.append(f'    <content type="html">{_escape(body)}</content>\n')
    elif not entry.link:
        # RFC 4287 4.1.1.1: an entry without content needs an alternate link.
        parts.append(f'    <content type="text">{_escape(entry.title)}</content>\n')
    parts.append("  </entry>\n")


def _escape(text: str) -> str:
    """``text`` as XML character data (a carriage return kept as a reference)."""
    if _XML_INVALID.search(text):
        # Control characters XML 1.0 cannot carry, from a broken source: drop them.
        text = _XML_INVALID.sub("", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _attr(text: str) -> str:
    """``text`` as a double-quoted XML attribute value (whitespace kept as references)."""
    return _escape(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temporary file and rename.

    Returns False, writing nothing, when the file already holds exactly ``data``.
    Raises PublishError naming the path.
    """
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError as err:
        raise _cannot_write(path, err) from err
    return _replace(path, lambda handle: handle.write(data))


def write_atomic_text(path: Path, pieces: Iterable[str]) -> bool:
    """Write the UTF-8 text of ``pieces`` to ``path`` via a temporary file and rename.

    For big outputs (a digest of a hundred thousand entries): the text is never held
    whole. Returns False, leaving ``path`` untouched, when it already held exactly that
    text. Raises PublishError naming the path.
    """

    def write(handle: BinaryIO) -> None:
        batch: list[str] = []
        size = 0
        for piece in pieces:
            batch.append(piece)
            size += len(piece)
            if size >= _BATCH:
                handle.write("".join(batch).encode("utf-8"))
                batch.clear()
                size = 0
        handle.write("".join(batch).encode("utf-8"))

    return _replace(path, write, keep_same=True)


#: Characters of text gathered before one write (and one encode) of the batch.
_BATCH = 1 << 18


def _replace(path: Path, write: Callable[[BinaryIO], object], *, keep_same: bool = False) -> bool:
    """Write a temporary file beside ``path`` with ``write`` and rename it over ``path``.

    With ``keep_same``, a temporary file identical to ``path`` is dropped instead
    (returns False).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                if keep_same and _same_file(path, tmp):
                    Path(tmp).unlink()
                    return False
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            pause_point("publish", path.name)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise _cannot_write(path, err) from err
    return True


def _same_file(path: Path, other: str) -> bool:
    """Whether ``path`` exists and holds the same bytes as ``other``."""
    try:
        return path.is_file() and filecmp.cmp(path, other, shallow=False)
    except OSError:
        return False


def _cannot_write(path: Path, err: OSError) -> PublishError:
    return PublishError(
        f"cannot write {path}: {err.strerror or err}",
        hint="check the output folder is writable and the disk is not full",
    )


#: The package's code and the templates: a change to any of them (in a source checkout,
#: without a new version number) must not leave old files looking current. All of the
#: code rather than a hand-kept list of the modules that shape output, which went stale
#: (it missed the templating and normalisation modules): a change anywhere rewrites the
#: outputs once, which costs one publish; reading the files costs about 2 ms, once.
_PACKAGE = Path(__file__).resolve().parent.parent


def _shapers() -> list[Path]:
    templates = resources.templates_dir()
    return sorted(_PACKAGE.rglob("*.py")) + sorted(p for p in templates.rglob("*") if p.is_file())


@cache
def _code_digest() -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in _shapers():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def output_fingerprint(what: str, *, generation: int, settings: object, path: Path) -> str:
    """A hash of everything an output file is built from.

    ``generation`` stands for the stored data (the store moves it on every change to
    what feeds, digests and the index show); ``settings`` for the settings that shape
    the file (frozen dataclasses: their repr is every field); ``what`` names the file's
    kind and category or day; the code digest covers the version, the package's code
    and the templates.
    """
    parts = (what, generation, settings, str(path), _code_digest())
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def is_current(path: Path, record: PublishedFile | None, fingerprint: str) -> bool:
    """Whether ``path`` is still the file recorded with ``fingerprint`` (no rebuild needed).

    A missing file, or one whose size or modification time moved since it was recorded
    (deleted, edited, restored from a backup), is not current.
    """
    if record is None or record.fingerprint != fingerprint:
        return False
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns


def published_file(path: Path, fingerprint: str) -> PublishedFile:
    """The record of ``path`` as it is now on disk, built from inputs with ``fingerprint``."""
    try:
        stat = path.stat()
    except OSError as err:
        raise PublishError(f"cannot read {path}: {err.strerror or err}") from err
    return PublishedFile(str(path), fingerprint, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class FeedLink:
    """A published category feed, as the index page lists it."""

    category: str
    filename: str
    count: int


def render_index(
    *,
    title: str,
    feeds: Sequence[FeedLink],
    days: Sequence[date],
    base_url: str,
    latest: front.Latest | None = None,
) -> bytes:
    """The front page: the latest day's highlights (``latest``), every digest by month,
    newest first, and every published feed with how to subscribe; with the slot where
    ``aggregator serve`` puts a search box (:mod:`.front`)."""
    html = (
        templating.environment()
        .get_template("index.html")
        .render(
            title=title,
            feeds=feeds,
            days=sorted(days, reverse=True),
            months=front.by_month(days),
            latest=latest,
            base_url=base_url,
            search_slot=front.SEARCH_SLOT.decode(),
        )
    )
    return html.encode("utf-8")


#: The feed of every entry, beside the category feeds.
ALL_FEED = "all.atom"


def render_opml(*, title: str, feeds: Sequence[FeedLink], base_url: str) -> bytes:
    """OPML 2.0 listing every published feed, as the index page lists them (``all``
    first, then each category): what a feed reader imports to subscribe to them all.

    Each outline's ``xmlUrl`` is the feed's address under ``base_url``, as in the feeds'
    own self links.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{title}: feeds"
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = f"{title}: {feed.category}"
        attributes = {
            "type": "rss",
            "text": name,
            "title": name,
            "xmlUrl": f"{base_url}feeds/{feed.filename}",
            "htmlUrl": f"{base_url}index.html",
        }
        if feed.filename != ALL_FEED:  # "all" is every category, not one
            attributes["category"] = f"/{feed.category}"
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
