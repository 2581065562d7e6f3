"""Publishing: feed file names, the index page, the OPML list, and the one file writer.

Never queries SQL itself (the pipeline hands it what to write); the feed documents
themselves are ``feedwriter``'s. Every output file of aggregator goes through
:func:`write_atomic`: written to a temporary file in the same folder, flushed and
renamed over the old one, and not touched at all when the bytes are unchanged.
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import BinaryIO

from .._common import resources, safety
from .._common.faults import pause_point
from .._common.version import __version__
from ..errors import PublishError
from ..types import PublishedFile
from . import front, templating
from .feedwriter import ALL


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


#: Per feed format: file suffix, media type, and its name for people.
FORMATS = {
    "atom": (".atom", "application/atom+xml", "Atom"),
    "json": (".json", "application/feed+json", "JSON Feed"),
    "rss": (".rss", "application/rss+xml", "RSS"),
}


def format_filename(atom_filename: str, kind: str) -> str:
    """The file of the ``kind`` twin of the feed in ``atom_filename`` (same stem)."""
    return atom_filename.removesuffix(".atom") + FORMATS[kind][0]


@dataclass(frozen=True)
class FeedFile:
    """One format of a published feed."""

    kind: str
    filename: str

    @property
    def media_type(self) -> str:
        return FORMATS[self.kind][1]

    @property
    def label(self) -> str:
        return FORMATS[self.kind][2]


@dataclass(frozen=True)
class FeedLink:
    """A published category feed, as the index page lists it: its Atom file and its
    twins in the other configured formats."""

    category: str
    filename: str
    count: int
    twins: tuple[FeedFile, ...] = ()


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
