"""Editing the config file for ``aggregator sources``: add and remove ``[[sources]]``.

Owns writing the TOML file, with tomlkit so that comments, order and formatting of
everything it does not touch survive. Every edit is validated by
:func:`aggregator.config.parse_config` before the file is replaced (atomically), so
an edit never leaves a config that the next run would reject.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from .config import Settings, parse_config
from .errors import ConfigError

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


def remove_source(document: tomlkit.TOMLDocument, name: str) -> bool:
    """Remove the source called ``name``; False when there is none."""
    found = document.get("sources")
    if not isinstance(found, AoT):
        return False
    for index, table in enumerate(found):
        if table.get("name") == name:
            del found[index]
            if not len(found):
                del document["sources"]
            return True
    return False


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
