"""Parser for single Markdown articles (``kind = "markdown"``).

Owns turning one Markdown document into one :class:`ParsedEntry`:

- **Front matter** (YAML between ``---`` lines at the very start, read with ``yaml.safe_load``)
  gives ``title``, ``date``, ``author``/``authors``, ``link``/``url``, ``tags``/``categories``
  and ``summary``/``description``.
- Without a front-matter title, the first level-1 heading (or a heading that opens the
  document) is the title and is left out of the body.
- A link line near the end citing the origin (``**元記事:** [text](url)``, ``Source: <url>``,
  ``原文``, ``来源``, ``Original``, ``Via``, or a last line that is only a link) gives ``link``
  when the front matter has none; without any date, a date in that link's path
  (``/2025/04/22/``, ``/20250422/``, ``/2025-04-22``) gives ``published``.
- ``content`` is the body rendered with markdown-it-py (CommonMark plus tables), with pandoc
  attributes such as ``{ width=60% }`` after images removed. It is not sanitised here.

Does no I/O; raises :class:`~aggregator.errors.ParseError` for empty input, HTML pages, and
front matter that is not valid YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .._update.normalize import day_start, parse_datetime, to_utc
from ..errors import ParseError
from ..types import ParsedEntry, ParsedFeed
from .common import ParseOptions, decode_text

_FENCE_LINE_RE = re.compile(r"^(?:---|\.\.\.)\s*$")
_YAML_KEY_RE = re.compile(r"^[A-Za-z_][\w\-]*\s*:")
_HTML_START_RE = re.compile(r"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)
# Pandoc attributes right after an image or link: ![a](b){ width=60% }, [a](b){.class}
_PANDOC_ATTR_RE = re.compile(r"(\]\([^()\s]*(?:\s+\"[^\"]*\")?\))\{[^{}\n]*[=.#][^{}\n]*\}")
_LINK_IN_TEXT_RE = re.compile(
    r"\[[^\]]*\]\(\s*<?(?P<md>https?://[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
    r"|<(?P<angle>https?://[^>\s]+)>"
    r"|(?P<bare>https?://[^\s<>()\[\]]+)"
)
_ORIGIN_LABELS = (
    "元記事|元の記事|出典|原文链接|原文鏈接|原文|来源|來源|出处|转载自|"
    "source|original(?:\\s+article|\\s+post)?|originally\\s+published(?:\\s+(?:at|on|in))?|via"
)
_ORIGIN_LINE_RE = re.compile(
    r"^(?:>\s*)?(?:[*\-+]\s+)?(?:\*\*|__|\*|_)?\s*(?:" + _ORIGIN_LABELS + r")\s*"
    r"(?:[:：]\s*(?:\*\*|__|\*|_)?|(?:\*\*|__|\*|_)\s*[:：]?|\s+(?=\[|<|https?://))"
    r"\s*(?P<rest>.+)$",
    re.I,
)
_ONLY_LINK_RE = re.compile(
    r"^(?:>\s*)?(?:[*\-+]\s+)?(?:\[[^\]]*\]\(\s*<?https?://[^)\s>]+>?\s*\)"
    r"|<https?://[^>\s]+>|https?://\S+)\s*$"
)
#: How many non-blank lines at the end of a document may hold the origin link.
_ORIGIN_SEARCH_LINES = 5
_URL_DATE_RES = (
    re.compile(r"/(?P<y>(?:19|20)\d\d)/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?=/|$|[^\d])"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)"),
    re.compile(r"/(?P<y>(?:19|20)\d\d)(?P<m>\d{2})(?P<d>\d{2})(?=/|$|[^\d])"),
)
_LOOSE_DATE_RE = re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})")
_TITLE_LIMIT = 80

_md = MarkdownIt("commonmark").enable("table")


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse one Markdown document into one entry.

    Raises ParseError when the text is empty, is an HTML page, or has front matter that is
    not valid YAML or is never closed.
    """
    text = decode_text(data, source=source)
    _check_is_markdown(text, source=source)
    warnings: list[str] = []
    lines = text.splitlines()
    meta, body_start = _front_matter(lines, source=source, warnings=warnings)
    body = lines[body_start:]
    tokens = _md.parse("\n".join(body))
    code_lines = _lines_of(tokens, ("fence", "code_block", "html_block"))
    title, skip = _title(meta, tokens, body, code_lines, warnings)
    content = _render(body, tokens, skip=skip, code_lines=code_lines)
    if not title and content is None:
        raise ParseError(
            "the Markdown document has no title and no text",
            source=source,
            hint="add a '# Title' heading or a 'title:' in the front matter",
        )
    link = _meta_link(meta, options.location) or _origin_link(body, code_lines)
    published = _meta_date(meta, ("date", "published", "pubdate"), options, warnings)
    if published is None and link:
        found = date_in_url(link)
        published = day_start(found) if found else None
    summary_text = _text(meta.get("summary")) or _text(meta.get("description"))
    entry = ParsedEntry(
        title=title,
        link=link,
        published=published,
        authors=_names(meta.get("authors") or meta.get("author")),
        summary=_md.render(summary_text).strip() if summary_text else None,
        content=content,
        categories=tuple(
            dict.fromkeys(
                _names(meta.get("categories"), split=True) + _names(meta.get("tags"), split=True)
            )
        ),
    )
    return ParsedFeed(entries=(entry,), warnings=tuple(warnings))


def _check_is_markdown(text: str, *, source: str) -> None:
    """Refuse an empty document and an HTML page."""
    if not text.strip():
        raise ParseError(
            "the Markdown document is empty",
            source=source,
            hint="check the file or URL; expected an article in Markdown",
        )
    if _HTML_START_RE.match(text):
        raise ParseError(
            "this is an HTML page, not Markdown",
            source=source,
            hint='use kind = "page" for web pages',
        )


def _title(
    meta: dict[str, Any],
    tokens: list[Token],
    body: list[str],
    code_lines: set[int],
    warnings: list[str],
) -> tuple[str, set[int]]:
    """The title, and the body lines of the heading it came from (left out of the body).

    The front matter's title, else the title heading's text, else the first line of text.
    """
    title = _text(meta.get("title"))
    title_token = _title_heading(tokens, title)
    skip: set[int] = set()
    if title_token is not None and title_token.map is not None:
        heading_text = _inline_text(tokens[tokens.index(title_token) + 1])
        title = title or heading_text
        skip = set(range(*title_token.map))
    if not title:
        title = _first_line_title(body, code_lines)
        if title:
            warnings.append("no title in front matter or heading; used the first line of text")
    return title, skip


def _front_matter(
    lines: Sequence[str], *, source: str, warnings: list[str]
) -> tuple[dict[str, Any], int]:
    """The front matter as a dict with lower-case keys, and the index of the first body line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if _FENCE_LINE_RE.match(lines[i])), None)
    if end is None:
        first = next((line for line in lines[1:] if line.strip()), "")
        if _YAML_KEY_RE.match(first):
            raise ParseError(
                "the front matter opened by '---' on line 1 is never closed",
                source=source,
                hint="end the front matter with a '---' line",
            )
        return {}, 0
    try:
        loaded = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "cannot be read"
        raise ParseError(
            f"the YAML front matter is not valid{where}: {problem}",
            source=source,
            hint="quote values that contain ':' or '#', e.g. title: 'A: B'",
        ) from err
    if loaded is None:
        return {}, end + 1
    if not isinstance(loaded, dict):
        warnings.append("the block between the first two '---' lines is not front matter")
        return {}, 0
    return {str(key).lower(): value for key, value in loaded.items()}, end + 1


def _lines_of(tokens: Iterable[Token], types: tuple[str, ...]) -> set[int]:
    lines: set[int] = set()
    for token in tokens:
        if token.type in types and token.map is not None:
            lines.update(range(*token.map))
    return lines


def _title_heading(tokens: Sequence[Token], meta_title: str | None) -> Token | None:
    """The heading that holds the document's title, if any.

    With a front-matter title, only a first block repeating that title; otherwise the first
    ``h1``, or a heading of any level that opens the document.
    """
    headings = [t for t in tokens if t.type == "heading_open" and t.level == 0]
    first_block = next(
        (t for t in tokens if t.level == 0 and t.nesting != -1 and t.type != "inline"), None
    )
    if meta_title:
        if first_block is not None and first_block in headings:
            inline = tokens[tokens.index(first_block) + 1]
            if _inline_text(inline).casefold() == meta_title.casefold():
                return first_block
        return None
    h1 = next((t for t in headings if t.tag == "h1"), None)
    if h1 is not None:
        return h1
    return first_block if first_block in headings else None


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, code and link text kept."""
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


def _first_line_title(body: Sequence[str], code_lines: set[int]) -> str:
    for index, line in enumerate(body):
        if index in code_lines or not line.strip():
            continue
        tokens = _md.parseInline(line.strip())
        text = _inline_text(tokens[0]) if tokens else line.strip()
        text = text.lstrip("#>*-+ ").strip()
        if not text:
            continue
        if len(text) > _TITLE_LIMIT:
            cut = text[:_TITLE_LIMIT].rsplit(" ", 1)[0] or text[:_TITLE_LIMIT]
            text = cut.rstrip(" ,;:，、") + "…"
        return text
    return ""


def _render(
    body: Sequence[str], tokens: Sequence[Token], *, skip: set[int], code_lines: set[int]
) -> str | None:
    # "text\ntext\n---": CommonMark reads a two-line setext heading, but people mean a rule.
    rule_before: set[int] = set()
    for token in tokens:
        if (
            token.type == "heading_open"
            and token.markup == "-"
            and token.map is not None
            and token.map[1] - token.map[0] > 2
        ):
            rule_before.add(token.map[1] - 1)
    out: list[str] = []
    for index, line in enumerate(body):
        if index in skip:
            continue
        if index in rule_before:
            out.append("")
        out.append(line if index in code_lines else _PANDOC_ATTR_RE.sub(r"\1", line))
    source = "\n".join(out).strip("\n")
    if not source.strip():
        return None
    return _md.render(source + "\n").strip() or None


def _origin_link(body: Sequence[str], code_lines: set[int]) -> str | None:
    """The origin URL cited in the last few lines, e.g. ``**元記事:** [text](url)``."""
    candidates = [
        (index, line.strip())
        for index, line in enumerate(body)
        if line.strip() and index not in code_lines
    ][-_ORIGIN_SEARCH_LINES:]
    for position, (_, line) in enumerate(reversed(candidates)):
        match = _ORIGIN_LINE_RE.match(line)
        if match:
            url = _first_url(match.group("rest"))
            if url:
                return url
        if position == 0 and _ONLY_LINK_RE.match(line):
            url = _first_url(line)
            if url:
                return url
    return None


def _first_url(text: str) -> str | None:
    match = _LINK_IN_TEXT_RE.search(text)
    if not match:
        return None
    url = match.group("md") or match.group("angle") or match.group("bare")
    return url.rstrip(".,;:!?。，；：！？") if url else None


def date_in_url(url: str) -> date | None:
    """A date in a URL's path: ``/2025/04/22/``, ``/2025-04-22``, or ``/20250422/``."""
    path = urlsplit(url).path
    for pattern in _URL_DATE_RES:
        for match in pattern.finditer(path):
            try:
                return date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
            except ValueError:
                continue
    return None


def _meta_link(meta: dict[str, Any], location: str | None) -> str | None:
    for key in ("link", "url", "canonical", "canonical_url"):
        value = _text(meta.get(key))
        if not value:
            continue
        if location and urlsplit(location).scheme in ("http", "https"):
            value = urljoin(location, value)
        if urlsplit(value).scheme in ("http", "https"):
            return value
    return None


def _meta_date(
    meta: dict[str, Any], keys: tuple[str, ...], options: ParseOptions, warnings: list[str]
) -> datetime | None:
    for key in keys:
        value = meta.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, datetime):
            return to_utc(value, options.timezone)
        if isinstance(value, date):
            return day_start(value)
        text = str(value).strip()
        parsed = parse_datetime(text, options.timezone)
        if parsed is not None:
            return parsed
        loose = _LOOSE_DATE_RE.match(text)
        if loose:
            try:
                return day_start(
                    date(int(loose.group("y")), int(loose.group("m")), int(loose.group("d")))
                )
            except ValueError:
                pass
        warnings.append(f"front matter {key}: {text!r} is not a date; ignored")
    return None


def _text(value: Any) -> str | None:
    """A front-matter scalar as trimmed text (``None`` for missing, empty or non-scalar)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _names(value: Any, *, split: bool = False) -> tuple[str, ...]:
    """Names from a string, a list, or ``{name: ...}`` mappings.

    With ``split``, a single string is a comma-separated list (``tags: a, b``); author names
    are never split, since ``"Smith, Jane"`` is one person.
    """
    if value is None:
        return ()
    if isinstance(value, str) and split:
        value = value.split(",")
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        text = _text(item)
        if text:
            names.append(text)
    return tuple(names)
