"""Editing the config file for ``aggregator sources`` and ``aggregator subscribers``:
add and remove ``[[sources]]`` and ``[[subscribers]]``.

Owns writing the TOML file, with tomlkit so that comments, order and formatting of
everything it does not touch survive. Every edit is validated by
:func:`aggregator.config.settings.parse_config` before the file is replaced (atomically), so
an edit never leaves a config that the next run would reject.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, Item, Table, Whitespace

from .._sources.arxiv import recognise
from ..errors import ConfigError
from .settings import Settings, parse_config

NEW_FILE_HEADER = (
    "aggregator configuration, written by `aggregator sources`.\n"
    "Every key is documented in config/example.toml."
)


def load(path: Path) -> tomlkit.TOMLDocument:
    """The config file as an editable document; an empty one when it does not exist."""
    if not path.exists():
        document = tomlkit.document()
        for line in NEW_FILE_HEADER.splitlines():
            document.add(tomlkit.comment(line))
        return document
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read: {err}", file=str(path)) from err
    except TOMLKitError as err:
        raise ConfigError(f"not valid TOML: {err}", file=str(path)) from err


def _sources(document: tomlkit.TOMLDocument) -> AoT:
    found = document.get("sources")
    if found is None:
        found = tomlkit.aot()
        document.append("sources", found)
    if not isinstance(found, AoT):
        raise ConfigError("expected an array of tables ([[sources]])", key="sources")
    return found


def source_names(document: tomlkit.TOMLDocument) -> list[str]:
    found = document.get("sources")
    if not isinstance(found, AoT):
        return []
    return [str(table.get("name")) for table in found]


@dataclass(frozen=True)
class KindChoice:
    """The kind a new source is given, and why."""

    kind: str
    #: How it was recognised, in words ("recognised from the URL"); None when not.
    reason: str | None = None
    #: When the kind asked for goes against what the source was recognised as.
    warning: str | None = None


_WHAT = {
    "feed": "feed",
    "api": "export API",
    "listing": "listing page",
    "author": "author feed",
}


def choose_kind(location: str, asked: str | None, *, head: bytes | None = None) -> KindChoice:
    """The kind of a new source reading ``location`` (``head``: the first bytes of a
    local file, if it exists): ``asked`` when given, else ``arxiv`` for arXiv's URLs and
    documents (see :mod:`aggregator._sources.arxiv.recognise`), else ``feed``.

    A kind asked for is kept, with a warning when it is ``feed`` for arXiv: the
    source's papers are still read as arXiv's, but without what ``arxiv`` sources do.
    """
    found = recognise.arxiv_url(location)
    reason = "recognised from the URL"
    if found is None and head is not None:
        found = recognise.document_kind(head)
        reason = "recognised from its content"
    if found is None:
        return KindChoice(asked or "feed")
    if asked is None:
        return KindChoice("arxiv", reason=reason)
    warning = None
    if asked == "feed":
        warning = (
            f'{location} is arXiv\'s {_WHAT.get(found, found)}; kept kind "feed" as asked:'
            " its papers are still read as arXiv's, but filed under the source's categories,"
            ' without announce types or catching up missed listings (kind "arxiv" does that)'
        )
    return KindChoice(asked, warning=warning)


def not_arxiv_categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``categories`` that are not written as arXiv categories (cs.CL, hep-th)."""
    return tuple(c for c in categories if not recognise.is_category(c.strip()))


def add_source(
    document: tomlkit.TOMLDocument,
    *,
    name: str,
    kind: str,
    url: str | None = None,
    path: str | None = None,
    categories: tuple[str, ...] = (),
    enabled: bool = True,
) -> None:
    """Append a ``[[sources]]`` table (validation happens in :func:`save`)."""
    table: Table = tomlkit.table()
    table.add("name", name)
    table.add("kind", kind)
    if url is not None:
        table.add("url", url)
    if path is not None:
        table.add("path", path)
    if categories:
        table.add("categories", list(categories))
    if not enabled:
        table.add("enabled", False)
    if document.body:
        table.trivia.indent = "\n"  # a blank line between tables, as people write them
    _sources(document).append(table)


def add_subscriber(
    document: tomlkit.TOMLDocument,
    *,
    email: str,
    name: str | None = None,
    categories: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
    format: str | None = None,
) -> None:
    """Append a ``[[subscribers]]`` table (validation happens in :func:`save`)."""
    table: Table = tomlkit.table()
    table.add("email", email)
    if name:
        table.add("name", name)
    if categories:
        table.add("categories", list(categories))
    if keywords:
        table.add("keywords", list(keywords))
    if format is not None:
        table.add("format", format)
    if document.body:
        table.trivia.indent = "\n"
    found = document.get("subscribers")
    if found is None:
        found = tomlkit.aot()
        document.append("subscribers", found)
    if not isinstance(found, AoT):
        raise ConfigError("expected an array of tables ([[subscribers]])", key="subscribers")
    found.append(table)


def subscriber_addresses(document: tomlkit.TOMLDocument) -> list[str]:
    found = document.get("subscribers")
    if not isinstance(found, AoT):
        return []
    return [str(table.get("email")) for table in found]


def remove_subscriber(document: tomlkit.TOMLDocument, email: str) -> bool:
    """Remove the subscriber with address ``email`` (any case); False when there is none.
    Its comments go with it, as :func:`remove_source` says."""
    return _remove(document, "subscribers", "email", email.lower(), fold=True)


def remove_source(document: tomlkit.TOMLDocument, name: str) -> bool:
    """Remove the source called ``name``; False when there is none.

    Its own comments go with it: the lines directly above its ``[[sources]]`` header
    (with the blank lines just before them) and those right under its last key; every
    other comment stays as it was. That takes care: tomlkit keeps the comments above a
    table header at the end of the *previous* table, so the comments above the next
    table are inside the one removed and are moved to where its own comments were.
    """
    return _remove(document, "sources", "name", name)


def _remove(
    document: tomlkit.TOMLDocument, array: str, key: str, value: str, *, fold: bool = False
) -> bool:
    """Remove the first table of ``[[array]]`` whose ``key`` is ``value``."""
    found = document.get(array)
    if not isinstance(found, AoT):
        return False
    for index, table in enumerate(found):
        own = str(table.get(key, ""))
        if (own.lower() if fold else own) == value:
            _keep_following_comments(document, found, index)
            del found[index]
            if not len(found):
                del document[array]
            return True
    return False


def _keep_following_comments(document: tomlkit.TOMLDocument, tables: AoT, index: int) -> None:
    """Replace the comments above ``tables[index]`` with those above what follows it."""
    removed = _tail(tables[index])
    after = [item for _, item in removed.body[_after_last_key(removed) :]]
    # Comment lines right under its last key (no blank line between) are the removed
    # table's own too, unless nothing but comments separates them from the next header.
    blank = next((i for i, item in enumerate(after) if isinstance(item, Whitespace)), 0)
    following = after[blank:]
    if index > 0:
        above = _tail(tables[index - 1])
        end = len(above.body)
    else:
        end = next(i for i, (_, item) in enumerate(document.body) if item is tables)
        previous = document.body[end - 1][1] if end else None
        if isinstance(previous, Table | AoT):
            above = _tail(previous)
            end = len(above.body)
        else:
            above = document
    start = end
    while start > 0 and isinstance(above.body[start - 1][1], Comment):
        start -= 1
    while start > 0 and isinstance(above.body[start - 1][1], Whitespace):
        start -= 1
    _splice(above, start, end, following)


def _tail(item: Table | AoT) -> Container:
    """The container whose end is just above whatever follows ``item`` in the file."""
    if isinstance(item, AoT):
        return _tail(item[-1])
    keys = _after_last_key(item.value)
    last = item.value.body[keys - 1][1] if keys else None
    if isinstance(last, Table | AoT):
        return _tail(last)
    return item.value


def _after_last_key(container: Container) -> int:
    """The index just past the last item with a key (table, key/value) in ``container``."""
    keyed = [i for i, (key, _) in enumerate(container.body) if key is not None]
    return keyed[-1] + 1 if keyed else 0


def _splice(container: Container, start: int, end: int, items: list[Item]) -> None:
    """Put ``items`` (comments, white space) in place of ``container.body[start:end]``.

    Only unkeyed items are replaced; tomlkit's index of keys into the body is moved
    along, since items with keys may follow (the ``[[sources]]`` array itself when
    its comments sit at the top level of the document).
    """
    body = container.body
    assert all(key is None for key, _ in body[start:end])
    body[start:end] = [(None, item) for item in items]
    shift = len(items) - (end - start)
    if not shift:
        return
    index = container._map
    for key, where in index.items():
        if isinstance(where, tuple):
            index[key] = tuple(i + shift if i >= end else i for i in where)
        elif where >= end:
            index[key] = where + shift


def save(path: Path, document: tomlkit.TOMLDocument) -> Settings:
    """Validate ``document`` as a config and write it to ``path`` atomically.

    Raises ConfigError (and leaves the file as it was) when the result is invalid.
    """
    text = tomlkit.dumps(document)
    base = path.resolve().parent
    settings = parse_config(text, file=str(path), source_base=base, work_base=base)
    base.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=base)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigError(f"cannot write: {err}", file=str(path)) from err
    return settings
