"""Interests: the ``[interests]`` table (the default profile) and each subscriber's own.

Owns the schema of the interest keys (type, default, help) and their checks: keywords
and authors to put first, and liked papers (``like``: arXiv IDs, DOIs or URLs;
``like_file``: a file of them, read when ranking, not here). Never reads that file and
never touches the database: the ranking stage does both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._enrich.likes import LikedRef, parse_ref
from ..errors import ConfigError
from .schema import Schema, typed_table

# key: (type, default, help). Every key is documented in config/example.toml.
INTERESTS_SCHEMA: Schema = {
    "keywords": (list, None, "words that put an entry first (case-insensitive; no filtering)"),
    "authors": (list, None, "authors to follow: their entries come first"),
    "like": (list, None, "liked papers: arXiv IDs, DOIs or URLs; 3 or more rank the rest"),
    "like_file": (
        str,
        None,
        "file of liked papers: one per line, a BibTeX export or a Zotero CSV export",
    ),
}


@dataclass(frozen=True)
class Interests:
    """One reader's interests (or the default profile's): validated, not yet looked up."""

    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    like: tuple[LikedRef, ...] = ()
    #: Resolved against the config file's folder; read at ranking time.
    like_file: Path | None = None
    #: Where in the config these came from, for messages (``interests``,
    #: ``subscribers[0] (a@b.org).interests``).
    where: str = "interests"

    @property
    def is_empty(self) -> bool:
        return not (self.keywords or self.authors or self.like or self.like_file)


def _strings(value: list[Any] | None, *, file: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError("expected a list of non-empty strings", file=file, key=key)
    return tuple(dict.fromkeys(" ".join(item.split()) for item in value))


def parse_interests(raw: Any, *, file: str, where: str, base: Path) -> Interests:
    """An ``interests`` table validated; ``base`` is the folder ``like_file`` is relative to.

    A liked paper that is no arXiv ID, DOI or http(s) URL is a ConfigError naming it
    and its place in the list.
    """
    v = typed_table(raw, INTERESTS_SCHEMA, file=file, where=where)
    refs: list[LikedRef] = []
    for index, text in enumerate(_strings(v["like"], file=file, key=f"{where}.like")):
        ref = parse_ref(text)
        if ref is None:
            raise ConfigError(
                f"{text!r} is not an arXiv ID, a DOI or an http(s) URL",
                file=file,
                key=f"{where}.like[{index}]",
                hint='e.g. "2401.01234", "hep-th/9901001v2", "10.1145/3292500.3330701"'
                ' or "https://example.org/paper"',
            )
        if ref not in refs:
            refs.append(ref)
    like_file = None
    if v["like_file"] is not None:
        if not v["like_file"].strip():
            raise ConfigError("must not be empty", file=file, key=f"{where}.like_file")
        like_file = base / Path(v["like_file"].strip()).expanduser()
    return Interests(
        keywords=_strings(v["keywords"], file=file, key=f"{where}.keywords"),
        authors=_strings(v["authors"], file=file, key=f"{where}.authors"),
        like=tuple(refs),
        like_file=like_file,
        where=where,
    )
