"""Liked papers: reading the references a reader gives (IDs, DOIs, URLs, export files).

Owns recognising one reference (an arXiv ID, old or new style, with or without its
version; a DOI; an http(s) URL) and reading a file of them: one per line, a BibTeX
export (Zotero, Better BibTeX) or Zotero's CSV export. Pure: text in, references out;
the caller reads the file and looks the references up in the store.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from .._common.urls import canonical_url
from .._update import normalize

ARXIV = "arxiv"
DOI = "doi"
URL = "url"

#: DOIs arXiv registers for its papers (10.48550/arXiv.2401.01234): the paper's ID.
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(?P<id>.+)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class LikedRef:
    """One liked paper as a reader named it: what kind of reference, and its value
    normalised (the arXiv ID without version, the DOI in lower case, the canonical URL)."""

    kind: str
    value: str
    #: The title the export file gave, if any (for messages; never used to match).
    title: str = ""

    def __str__(self) -> str:
        return f"arXiv:{self.value}" if self.kind == ARXIV else self.value


def parse_ref(text: str, *, title: str = "") -> LikedRef | None:
    """The reference ``text`` names, or None when it is no arXiv ID, DOI or http(s) URL."""
    text = text.strip().strip("<>").strip()
    if not text:
        return None
    found = normalize.arxiv_id(text)
    if found is not None:
        return LikedRef(ARXIV, found[0], title)
    doi = normalize.doi(text)
    if doi is not None:
        arxiv = _ARXIV_DOI.match(doi)
        if arxiv is not None:
            inner = normalize.arxiv_id(arxiv.group("id"))
            if inner is not None:
                return LikedRef(ARXIV, inner[0], title)
        return LikedRef(DOI, doi, title)
    if re.match(r"^https?://[^\s/]+", text, re.IGNORECASE) and not re.search(r"\s", text):
        return LikedRef(URL, canonical_url(text), title)
    return None


@dataclass(frozen=True)
class LikeFile:
    """What a like file held: the references found, and the records that named none."""

    refs: tuple[LikedRef, ...]
    #: Descriptions of records without a usable reference ("line 4: ...", "entry smith21").
    unusable: tuple[str, ...] = ()
    #: "lines", "bibtex" or "zotero-csv".
    format: str = "lines"


def read_like_file(text: str) -> LikeFile:
    """The references in a like file, its format recognised from its content."""
    text = text.removeprefix("\ufeff")  # Zotero writes its CSV with a byte order mark
    if re.search(r"^\s*@\s*[A-Za-z]+\s*[{(]", text, re.MULTILINE):
        return _bibtex(text)
    first = text.lstrip().split("\n", 1)[0]
    if _is_csv_header(first):
        return _zotero_csv(text)
    return _lines(text)


def _dedup(refs: list[LikedRef]) -> tuple[LikedRef, ...]:
    seen: dict[tuple[str, str], LikedRef] = {}
    for ref in refs:
        seen.setdefault((ref.kind, ref.value), ref)
    return tuple(seen.values())


def _lines(text: str) -> LikeFile:
    refs: list[LikedRef] = []
    unusable: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        # A comment starts with "#" at the start or after a space (a URL keeps its "#").
        line = re.sub(r"(?:^|\s)#.*$", "", line).strip()
        if not line:
            continue
        ref = parse_ref(line)
        if ref is None:
            unusable.append(f"line {number}: {line[:80]!r}")
        else:
            refs.append(ref)
    return LikeFile(_dedup(refs), tuple(unusable), "lines")


# -- BibTeX ---------------------------------------------------------------------------

_ENTRY_START = re.compile(r"@\s*(?P<type>[A-Za-z]+)\s*(?P<open>[{(])")


def _bibtex_entries(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(entry type, citation key, fields) of each entry; @comment, @string and
    @preamble skipped. Values keep their text with the outer braces or quotes removed."""
    found: list[tuple[str, str, dict[str, str]]] = []
    position = 0
    while (match := _ENTRY_START.search(text, position)) is not None:
        kind = match.group("type").lower()
        close = "}" if match.group("open") == "{" else ")"
        body, position = _balanced(text, match.end(), close)
        if kind in ("comment", "string", "preamble"):
            continue
        key, _, rest = body.partition(",")
        found.append((kind, key.strip(), _bibtex_fields(rest)))
    return found


def _balanced(text: str, start: int, close: str) -> tuple[str, int]:
    """The text from ``start`` to the ``close`` that balances it, and the index after."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
        elif char == close and depth == 0:
            return text[start:index], index + 1
        index += 1
    return text[start:], len(text)


_FIELD_NAME = re.compile(r"\s*,?\s*(?P<name>[A-Za-z][\w\-:.]*)\s*=\s*")


def _bibtex_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    while (match := _FIELD_NAME.match(text, position)) is not None:
        position = match.end()
        if position >= len(text):
            break
        opener = text[position]
        if opener == "{":
            value, position = _balanced(text, position + 1, "}")
        elif opener == '"':
            end = position + 1
            depth = 0
            while end < len(text) and not (text[end] == '"' and depth == 0):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            value, position = text[position + 1 : end], end + 1
        else:
            bare = re.match(r"[^,]*", text[position:])
            value = bare.group(0) if bare else ""
            position += len(value)
        fields[match.group("name").lower()] = " ".join(
            value.replace("{", "").replace("}", "").split()
        )
    return fields


def _bibtex(text: str) -> LikeFile:
    refs: list[LikedRef] = []
    unusable: list[str] = []
    for _kind, key, fields in _bibtex_entries(text):
        title = fields.get("title", "")
        ref = _bibtex_ref(fields, title)
        if ref is None:
            unusable.append(f"entry {key or '?'}" + (f" ({title[:60]})" if title else ""))
        else:
            refs.append(ref)
    return LikeFile(_dedup(refs), tuple(unusable), "bibtex")


def _bibtex_ref(fields: dict[str, str], title: str) -> LikedRef | None:
    """The best reference of one entry: its arXiv eprint, then DOI, then URL."""
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").lower()
    eprint = fields.get("eprint", "")
    candidates = []
    if eprint and (prefix in ("", "arxiv")):
        candidates.append(eprint)
    candidates += [fields.get("doi", ""), fields.get("url", "")]
    for candidate in candidates:
        ref = parse_ref(candidate, title=title) if candidate else None
        if ref is not None:
            return ref
    return None


# -- Zotero's CSV export --------------------------------------------------------------

#: Columns of Zotero's CSV export that can name a paper, in the order they are tried.
_CSV_COLUMNS = ("Extra", "DOI", "Url", "Archive ID")


def _is_csv_header(line: str) -> bool:
    try:
        header = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return False
    return "Title" in header and ("DOI" in header or "Url" in header)


def _zotero_csv(text: str) -> LikeFile:
    refs: list[LikedRef] = []
    unusable: list[str] = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
        title = (row.get("Title") or "").strip()
        ref = _csv_ref(row, title)
        if ref is None:
            unusable.append(f"row {number}" + (f" ({title[:60]})" if title else ""))
        else:
            refs.append(ref)
    return LikeFile(_dedup(refs), tuple(unusable), "zotero-csv")


def _csv_ref(row: dict[str, str | None], title: str) -> LikedRef | None:
    for column in _CSV_COLUMNS:
        value = (row.get(column) or "").strip()
        if not value:
            continue
        if column == "Extra":
            # Zotero keeps "arXiv: 2401.01234" (and other "Field: value" lines) in Extra.
            found = re.search(r"arxiv:\s*(\S+)", value, re.IGNORECASE)
            if found is None:
                continue
            value = found.group(1)
        ref = parse_ref(value, title=title)
        if ref is not None:
            return ref
    return None
