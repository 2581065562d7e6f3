"""Parser for daily paper lists in Markdown (``kind = "markdown-digest"``).

Owns reading one list of the form::

    # 20260114
    ## 1. `cs.AI` - Title [PDF](https://arxiv.org/pdf/2601.06098), [HTML](https://arxiv.org/abs/2601.06098)
    ### Authors
    Name One,Name Two
    ### Background
    ...

into one :class:`ParsedEntry` per paper, in document order: the paper's category, title, arXiv
ID (without version), abs and PDF links, authors and its ``###`` sections. Every paper is dated
by the ``# YYYYMMDD`` heading above it (``announced``; ``published`` is midnight UTC of that day).
A paper whose arXiv ID is older than the list's month (``2407.18676`` in a January 2026 list)
is a replacement of an old paper, not a new one: it is announced as ``replace`` in its
category, the others as ``new``.

A paper heading that cannot be read is skipped with a warning naming its line; the other papers
are still returned. Does no I/O and never renders or sanitises HTML: sections stay plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from .._update.normalize import arxiv_id, day_start
from ..errors import ParseError
from ..types import ParsedEntry, ParsedFeed
from .common import ParseOptions, decode_text

_DATE_HEADING_RE = re.compile(r"^#\s+(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})\s*#*\s*$")
_PAPER_HEADING_RE = re.compile(r"^##(?!#)")
# ## 12. `cs.AI` - Title [PDF](url), [HTML](url)   (the backticks around the category optional)
_PAPER_RE = re.compile(
    r"^##\s+(?P<n>\d+)\.?\s+`?(?P<cat>[A-Za-z][\w\-]*(?:\.[A-Za-z][\w\-]*)?)`?\s+[-–—]\s+"
    r"(?P<title>.+?)\s*(?P<links>(?:,?\s*\[[^\]]+\]\([^)\s]+\))+)\s*$"
)
_LINK_RE = re.compile(r"\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)")
_SECTION_RE = re.compile(r"^###\s+(?P<name>.+?)\s*#*\s*$")
_AUTHORS_SECTIONS = frozenset({"authors", "author", "作者"})
# arXiv's affiliation notation: "Name(1), Other (2, 3) ((1) Univ A, (2) Univ B, (3) Lab C)".
_AFFILIATION_BLOCK_RE = re.compile(r"\s*\(\s*\(\d+\).*\)\s*$")
_AFFILIATION_MARK_RE = re.compile(r"\s*\(\s*\d+(?:\s*,\s*(?:and\s+)?\d+)*\s*\)")
_AUTHOR_SEPARATORS = frozenset({",", "，", "、", ";", "；"})
_SEPARATOR_RE = re.compile(f"[{''.join(sorted(_AUTHOR_SEPARATORS))}]")
_AND_RE = re.compile(r"^and\s+")


@dataclass
class _Paper:
    line: int
    number: int
    category: str
    title: str
    links: list[tuple[str, str]]
    announced: date
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    stray: bool = False


@dataclass
class _Read:
    """What a pass over the list's lines found."""

    papers: list[_Paper] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The last ``# YYYYMMDD`` heading's day, None before the first.
    announced: date | None = None
    #: ``##`` headings seen, readable or not.
    headings: int = 0


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse a daily list into one entry per paper.

    Raises ParseError when the text is empty, has no ``# YYYYMMDD`` date heading above the
    first paper, or has no readable paper heading at all.
    """
    text = decode_text(data, source=source)
    if not text.strip():
        raise ParseError(
            "the daily list is empty",
            source=source,
            hint="expect a '# YYYYMMDD' heading, then papers as '## N. `cs.AI` - Title [PDF](url)'",
        )
    read = _read(text, source=source)
    if not read.papers:
        raise _no_papers(read, source=source)
    entries = _entries(read.papers, read.warnings)
    return ParsedFeed(entries=entries, warnings=tuple(read.warnings))


def _read(text: str, *, source: str) -> _Read:
    """The papers under their date headings, each with its ``###`` sections' lines."""
    read = _Read()
    current: _Paper | None = None  # None: no paper yet, or one whose heading was skipped
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        date_match = _DATE_HEADING_RE.match(stripped)
        if date_match:
            read.announced = _heading_date(date_match, line=number, source=source)
            current = None
        elif _PAPER_HEADING_RE.match(stripped):
            read.headings += 1
            current = _paper(stripped, number, read, source=source)
            if current is not None:
                read.papers.append(current)
        elif current is not None:
            _body_line(current, line, number, read.warnings)
    return read


def _paper(heading: str, number: int, read: _Read, *, source: str) -> _Paper | None:
    """The paper a ``##`` heading on line ``number`` starts; None (warned) if unreadable."""
    match = _PAPER_RE.match(heading)
    if match is None:
        read.warnings.append(
            f"line {number}: skipped a paper heading that is not "
            f"'## N. `category` - Title [PDF](url), [HTML](url)': {_shorten(heading)}"
        )
        return None
    if read.announced is None:
        raise ParseError(
            f"line {number}: paper heading before any '# YYYYMMDD' date heading",
            source=source,
            hint="start the list with the day it announces, e.g. '# 20260114'",
        )
    return _Paper(
        line=number,
        number=int(match.group("n")),
        category=match.group("cat"),
        title=" ".join(match.group("title").split()),
        links=[(m.group("label"), m.group("url")) for m in _LINK_RE.finditer(match.group("links"))],
        announced=read.announced,
    )


def _body_line(paper: _Paper, line: str, number: int, warnings: list[str]) -> None:
    """A line under a paper: a ``###`` section heading, or text of the current section."""
    stripped = line.strip()
    section = _SECTION_RE.match(stripped)
    if section:
        paper.sections.append((section.group("name"), []))
    elif paper.sections:
        paper.sections[-1][1].append(line.rstrip())
    elif stripped and not paper.stray:
        paper.stray = True
        warnings.append(
            f"line {number}: ignored text of paper {paper.number} outside any '###' section"
        )


def _no_papers(read: _Read, *, source: str) -> ParseError:
    """Why a list gave no paper at all."""
    if read.headings:
        return ParseError(
            f"none of the {read.headings} paper headings could be read",
            source=source,
            hint=read.warnings[0] if read.warnings else None,
        )
    if read.announced is None:
        return ParseError(
            "no '# YYYYMMDD' date heading and no '## N. `category` - Title' paper headings",
            source=source,
            hint='is this really a daily paper list? (kind = "markdown-digest")',
        )
    return ParseError(
        "the daily list has a date heading but no paper headings",
        source=source,
        hint="expect papers as '## N. `cs.AI` - Title [PDF](url), [HTML](url)'",
    )


def _entries(papers: list[_Paper], warnings: list[str]) -> tuple[ParsedEntry, ...]:
    """One entry per paper, warning where a day's numbering does not go up."""
    entries = []
    previous, day = 0, papers[0].announced
    for paper in papers:
        if paper.announced != day:  # each day's list numbers its papers from 1
            previous, day = 0, paper.announced
        if paper.number <= previous:
            warnings.append(
                f"line {paper.line}: paper number {paper.number} does not follow {previous}"
            )
        previous = paper.number
        entries.append(_entry(paper, warnings))
    return tuple(entries)


def _heading_date(match: re.Match[str], *, line: int, source: str) -> date:
    try:
        return date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    except ValueError:
        raise ParseError(
            f"line {line}: the date heading {match.group(0).strip()!r} is not a real date",
            source=source,
            hint="write the day as '# YYYYMMDD', e.g. '# 20260114'",
        ) from None


def _entry(paper: _Paper, warnings: list[str]) -> ParsedEntry:
    pdf_url: str | None = None
    html_url: str | None = None
    found_id: str | None = None
    for label, url in paper.links:
        kind = label.strip().lower()
        if kind == "pdf" or (pdf_url is None and "/pdf/" in url):
            pdf_url = pdf_url or url
        elif kind in ("html", "abs", "abstract", "arxiv") or "/abs/" in url:
            html_url = html_url or url
        found = arxiv_id(url)
        if found and found_id is None:
            found_id = found[0]
    if found_id is None:
        warnings.append(f"line {paper.line}: paper {paper.number} has no arXiv link")
    # One link per paper and no version in it, like the arXiv feeds: derive it from the ID.
    link = f"https://arxiv.org/abs/{found_id}" if found_id else html_url or pdf_url
    if pdf_url is None and found_id:
        pdf_url = f"https://arxiv.org/pdf/{found_id}"

    authors: tuple[str, ...] = ()
    sections: list[tuple[str, str]] = []
    for name, lines in paper.sections:
        body = _section_text(lines)
        if name.strip().lower() in _AUTHORS_SECTIONS:
            authors = split_authors(body)
        elif body:
            sections.append((name, body))
    return ParsedEntry(
        title=paper.title,
        link=link,
        published=day_start(paper.announced),
        authors=authors,
        sections=tuple(sections),
        categories=(paper.category,),
        pdf_url=pdf_url,
        arxiv_id=found_id,
        announced=paper.announced,
        announce=((paper.category, announce_type(found_id, paper.announced)),) if found_id else (),
    )


def announce_type(paper_id: str, day: date) -> str:
    """``new`` for an ID of the list's month (or later), ``replace`` for an older paper.

    New-style IDs start with the year and month they were submitted (``2601.06098`` is
    January 2026); old-style IDs (``math/0611800``) all predate any list in this format.
    """
    match = re.match(r"^(\d{2})(\d{2})\.", paper_id)
    if match is None:
        return "replace"
    month = 2000 + int(match.group(1)), int(match.group(2))
    return "replace" if month < (day.year, day.month) else "new"


def _section_text(lines: list[str]) -> str:
    """The section's lines with paragraphs kept: at most one blank line between them."""
    text = "\n".join(lines).strip()
    return re.sub(r"\n\s*\n+", "\n\n", text)


def split_authors(text: str) -> tuple[str, ...]:
    """Names from a comma-separated author line (``,``, ``，``, ``、`` or ``;``).

    Commas inside parentheses do not split, and arXiv's affiliation notation is dropped:
    ``"A(1), B (1, 2) ((1) Univ X, (2) Lab Y)"`` gives ``("A", "B")``.
    """
    text = " ".join(text.split())
    if "(" not in text and ")" not in text:  # nothing nested, no affiliations: split
        return tuple(
            name
            for name in (_AND_RE.sub("", part.strip()) for part in _SEPARATOR_RE.split(text))
            if name
        )
    names: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char in _AUTHOR_SEPARATORS and depth == 0:
            names.append(text[start:index])
            start = index + 1
    names.append(text[start:])
    cleaned = []
    for name in names:
        name = _AFFILIATION_BLOCK_RE.sub("", name)
        name = _AFFILIATION_MARK_RE.sub("", name).strip()
        name = _AND_RE.sub("", name)
        if name:
            cleaned.append(name)
    return tuple(cleaned)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
