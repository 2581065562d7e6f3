"""Parser for one article page, saved as HTML or as text (``kind = "page"``).

Owns finding the article inside a page full of site clutter and returning it as one
:class:`ParsedEntry`: title, publication time, authors, canonical link and the body as HTML,
without navigation, breadcrumbs, the meta line, prev/next links, related lists or footer.

HTML (a doctype, ``<html>``, ``<body>`` or ``<article>`` at the start, or an HTML
Content-Type) is read with lxml:

- title: ``og:title``, then the ``<h1>`` of the article, then ``<title>`` without a
  `` - Site`` / `` | Site`` suffix;
- time: ``article:published_time``, ``<time datetime>``, JSON-LD ``datePublished``, then a
  labelled date in the text (``发布时间:``, ``Published``, ...);
- authors: ``<meta name=author>``, JSON-LD ``author``, ``rel``/``itemprop`` author, then a
  ``作者:`` / ``By`` label;
- body: ``[itemprop=articleBody]``, else the largest ``<article>``, else ``<main>``, else the
  element holding the most paragraph text; inside it, ``nav``, ``header``, ``footer``,
  ``aside``, scripts, styles, forms and elements whose class or id names clutter
  (related, comment, share, nav, menu, footer, sidebar, breadcrumb, recommend, ...) are dropped.

Text (a page saved as text) is read line by line: the title is the last breadcrumb segment
(``当前位置:首页 >专报 >Title``) where it repeats as a line, else the line above the first
labelled date, else the first line that is not a menu bullet; the meta line just below the title
gives the time and the ``作者:`` authors (the site's poster, not a byline inside the article,
which stays in the body); the body runs from there to the first end marker (``上一篇``,
``相关文章``, ``Copyright``, ``Related posts``, ...), each block becoming an escaped ``<p>``,
and lines repeating the title (image stand-ins) dropped.

Times without an offset are read in ``options.timezone``; a date without a time is midnight UTC.
Does no I/O and does not sanitise the HTML it returns.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from ..errors import ParseError
from ..normalize import parse_datetime, to_utc
from ..types import ParsedEntry, ParsedFeed
from . import ParseOptions, decode_text

# --- shared: dates, labels, authors -----------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
# An optional time of day after a date, with am/pm and an offset; no offset without a time.
_TIME = (
    r"(?:\s*(?:T|\s|at\s)?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})"
    r"(?:\s*[:：分]\s*(?P<S>\d{2})\s*秒?)?(?:\s*(?P<ampm>[ap]\.?m\b\.?))?"
    r"(?:\s*(?P<tz>Z|[+-]\d{2}:?\d{2})(?![\w:]))?)?"
)
_DATETIME_RES = (
    # 2025-09-08 15:44:43, 2025/9/8 15:44, 2025年9月8日 15时44分, 2025-09-08T15:44:43+08:00
    re.compile(
        r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})"
        r"(?!\d)\s*日?" + _TIME,
        re.I,
    ),
    # March 5, 2024 [10:30 am]
    re.compile(
        r"\b(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)"
        r"(?!\d)(?:,)?" + _TIME,
        re.I,
    ),
    # 5 March 2024 [10:30]
    re.compile(
        r"\b(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>(?:19|20)\d\d)(?!\d)(?:,)?"
        + _TIME,
        re.I,
    ),
)
# A CJK label needs a colon ("推理时间" in a sentence is not a label); English ones a word edge.
_DATE_LABEL_RE = re.compile(
    r"(?:(?:发布时间|发表时间|发布日期|发表日期|发布于|时间|日期|時間|日時|公開日|投稿日)\s*[:：]"
    r"|\b(?:published(?:\s+on)?|posted(?:\s+on)?|date)\b\s*[:：]?)\s*",
    re.I,
)
_AUTHOR_LABEL_RE = re.compile(
    r"(?:作者|作\s+者|撰文|記者|记者|筆者|著者)\s*[:：]\s*(?P<v>.+?)"
    r"(?=\s+\S{1,10}[:：]|\s{2,}|\s*[|｜]|$)"
)
_BYLINE_AUTHOR_RE = re.compile(r"^(?:作者|撰文)\s*[:：|｜]\s*(?P<v>.+?)\s*$")
_BY_RE = re.compile(r"(?:^|(?<=[\s|·•,]))by\s+(?P<v>[^|·•,]+?)\s*(?:[|·•,]|\bon\b|$)", re.I)
#: How much text besides a date a line may hold and still be the meta line, without a label.
_UNLABELLED_SLACK = 30
_SENTENCE_RE = re.compile(r"[，。！？；]|[.!?;](?:\s|$)")
_NAME_SPLIT_RE = re.compile(r"\s*(?:、|，|,|;|；|/|\band\b|&)\s*")


def _match_datetime(text: str, pos: int = 0, *, anchored: bool) -> re.Match[str] | None:
    """The first readable date at ``pos`` (or, unless ``anchored``, anywhere after it)."""
    for pattern in _DATETIME_RES:
        match = pattern.match(text, pos) if anchored else pattern.search(text, pos)
        if match and _build_datetime(match) is not None:
            return match
    return None


def _build_datetime(match: re.Match[str]) -> datetime | None:
    groups = match.groupdict()
    month = _MONTHS.get(groups["mon"].lower()) if groups.get("mon") else int(groups["m"])
    if month is None:
        return None
    hour = int(groups["H"] or 0)
    if groups["ampm"] and groups["H"]:
        hour = hour % 12 + (12 if groups["ampm"].lower().startswith("p") else 0)
    try:
        value = datetime(
            int(groups["y"]),
            month,
            int(groups["d"]),
            hour,
            int(groups["M"] or 0),
            int(groups["S"] or 0),
        )
    except ValueError:
        return None
    tz = groups["tz"]
    if tz:
        value = datetime.fromisoformat(value.isoformat() + ("+00:00" if tz in "Zz" else tz))
    elif not groups["H"]:
        # A bare day: the project's convention is midnight UTC (normalize.day_start).
        value = value.replace(tzinfo=UTC)
    return value


def _labelled_datetime(line: str, timezone: str) -> datetime | None:
    """The time after a date label in ``line`` (``发布时间:2025-09-08 15:44:43``)."""
    for label in _DATE_LABEL_RE.finditer(line):
        match = _match_datetime(line, label.end(), anchored=True)
        value = _build_datetime(match) if match else None
        if value is not None:
            return to_utc(value, timezone)
    return None


def _unlabelled_datetime(line: str, timezone: str) -> datetime | None:
    """A date-time on a meta-like line without a label: one with a time of day, or a date that
    is most of the line (``2024-05-07 | Site``); a dated sentence of the article is not one."""
    match = _match_datetime(line, anchored=False)
    value = _build_datetime(match) if match else None
    if match is None or value is None:
        return None
    rest = line[: match.start()] + line[match.end() :]
    if _SENTENCE_RE.search(rest):
        return None
    if match.group("H") or len(rest) <= _UNLABELLED_SLACK:
        return to_utc(value, timezone)
    return None


def _split_names(value: str) -> tuple[str, ...]:
    return tuple(name for name in (n.strip() for n in _NAME_SPLIT_RE.split(value)) if name)


def _labelled_authors(line: str) -> tuple[str, ...]:
    match = _AUTHOR_LABEL_RE.search(line)
    if match:
        return _split_names(match.group("v"))
    match = _BY_RE.search(line.strip())
    return _split_names(match.group("v")) if match else ()


# --- text pages --------------------------------------------------------------------------------

_BULLET_RE = re.compile(r"^[•·▪●◦■□▸►\*\-–]\s+")
_BREADCRUMB_RE = re.compile(
    r"^(?:当前位置|您的位置|你的位置|您现在的位置|现在位置|所在位置|現在位置|You are here)"
    r"\s*[:：]?\s*(?P<trail>.+)$",
    re.I,
)
_CRUMB_SPLIT_RE = re.compile(r"\s*[>»›＞]\s*")
_END_MARKER_RE = re.compile(
    r"^(?:上一篇|下一篇|上一条|下一条|上一頁|下一頁|前の記事|次の記事|相关文章|相关阅读|相关推荐|"
    r"相关新闻|相關文章|推荐阅读|延伸阅读|热门文章|热门推荐|随便看看|猜你喜欢|网友评论|发表评论|"
    r"分享到|関連記事|おすすめ記事|Copyright\b|©|版权所有|"
    r"(?:previous|next)(?:\s+(?:post|article|story))?\s*[:：]|related\s+(?:posts|articles|stories)|"
    r"you\s+(?:may|might)\s+also\s+like|share\s+this|leave\s+a\s+(?:comment|reply)|comments?\s*$)",
    re.I,
)
_CHROME_RE = re.compile(
    r"^(?:设为首页|加入收藏|首页|登录|注册|搜索|skip\s+to|sign\s+in|log\s+in|subscribe|menu|search)",
    re.I,
)
#: How far (in non-blank lines) below the title the meta line may be.
_META_WINDOW = 3
#: How far (in non-blank lines) from the top a labelled date may stand to mark the meta line.
_HEAD_WINDOW = 40
_META_MAX_LENGTH = 200


def _parse_text(text: str, *, source: str, options: ParseOptions) -> ParsedFeed:
    lines = [_BULLET_RE.sub("", raw.strip()) if raw.strip() else "" for raw in text.splitlines()]
    bullets = {i for i, raw in enumerate(text.splitlines()) if _BULLET_RE.match(raw.strip())}
    filled = [i for i, line in enumerate(lines) if line]
    warnings: list[str] = []

    title_at = _text_title(lines, filled, bullets)
    if title_at is None:
        raise ParseError(
            "no title found: the text has only menu items",
            source=source,
            hint='is this the saved article page? (kind = "page")',
        )
    title = lines[title_at]
    after_title = [i for i in filled if i > title_at]
    meta_at = None
    for i in after_title[:_META_WINDOW]:
        if len(lines[i]) <= _META_MAX_LENGTH and (
            _labelled_datetime(lines[i], options.timezone)
            or _unlabelled_datetime(lines[i], options.timezone)
        ):
            meta_at = i
            break
    published = None
    authors: tuple[str, ...] = ()
    if meta_at is not None:
        meta = lines[meta_at]
        published = _labelled_datetime(meta, options.timezone) or _unlabelled_datetime(
            meta, options.timezone
        )
        authors = _labelled_authors(meta)
    else:
        warnings.append("no publication time found below the title")

    start = (meta_at if meta_at is not None else title_at) + 1
    end = next((i for i in filled if i >= start and _END_MARKER_RE.match(lines[i])), len(lines))
    body = [(i, lines[i]) for i in range(start, end) if lines[i] != title]
    if not authors:
        # A byline opening the article ("作者 | Name") when the meta line names nobody.
        for _, line in [(i, s) for i, s in body if s][:3]:
            match = _BYLINE_AUTHOR_RE.match(line)
            if match:
                authors = _split_names(match.group("v"))
                break
    content = _text_to_html(body, bullets)
    if content is None:
        raise ParseError(
            f"no article text found below the title {title!r}",
            source=source,
            hint="the page may be only a list of links; check the saved file",
        )
    entry = ParsedEntry(title=title, published=published, authors=authors, content=content)
    return ParsedFeed(entries=(entry,), warnings=tuple(warnings))


def _text_title(lines: Sequence[str], filled: Sequence[int], bullets: set[int]) -> int | None:
    """The index of the title line (see the module docstring for the order of clues)."""
    for i in filled[:_HEAD_WINDOW]:
        crumb = _BREADCRUMB_RE.match(lines[i])
        if not crumb:
            continue
        last = _CRUMB_SPLIT_RE.split(crumb.group("trail").strip())[-1].strip()
        stem = last.rstrip(".…").strip()
        for j in filled:
            if j > i and stem and lines[j].startswith(stem) and j not in bullets:
                return j
    for i in filled[:_HEAD_WINDOW]:
        if len(lines[i]) <= _META_MAX_LENGTH and _labelled_datetime(lines[i], "UTC"):
            above = [j for j in filled if j < i and j not in bullets]
            above = [j for j in above if not _BREADCRUMB_RE.match(lines[j])]
            if above:
                return above[-1]
            break
    for i in filled:
        if (
            i not in bullets
            and not _CHROME_RE.match(lines[i])
            and not _BREADCRUMB_RE.match(lines[i])
        ):
            return i
    return None


def _text_to_html(body: Sequence[tuple[int, str]], bullets: set[int]) -> str | None:
    """Blocks of lines as ``<p>`` (bullet runs as ``<ul>``); one line, one paragraph when
    the text has no blank lines between paragraphs."""
    lines = [(i, line) for i, line in body]
    while lines and not lines[-1][1]:
        lines.pop()
    while lines and not lines[0][1]:
        lines.pop(0)
    if not lines:
        return None
    one_per_line = all(line for _, line in lines)
    parts: list[str] = []
    block: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if block:
            parts.append("<p>" + "\n".join(html.escape(b, quote=False) for b in block) + "</p>")
            block.clear()
        if items:
            lis = "".join(f"<li>{html.escape(item, quote=False)}</li>" for item in items)
            parts.append(f"<ul>{lis}</ul>")
            items.clear()

    for index, line in lines:
        if not line:
            flush()
        elif index in bullets:
            if block:
                flush()
            items.append(line)
        else:
            if items:
                flush()
            block.append(line)
            if one_per_line:
                flush()
    flush()
    return "\n".join(parts) or None


# --- HTML pages --------------------------------------------------------------------------------

_HTML_SNIFF_RE = re.compile(
    r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<article[\s>]", re.I
)
_HTML_SNIFF_CHARS = 2048
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_DROP_TAGS = (
    "nav", "header", "footer", "aside", "script", "style", "noscript", "template", "form",
    "iframe", "button", "svg", "select", "input", "textarea",
)  # fmt: skip
_CLUTTER_PREFIXES = (
    "related", "comment", "share", "sharing", "nav", "menu", "footer", "sidebar", "breadcrumb",
    "recommend", "social", "advert", "pagination", "widget", "subscribe", "newsletter",
)  # fmt: skip
_CLUTTER_WORDS = frozenset({"meta", "byline", "ad", "ads", "tags", "pager", "prevnext", "toolbar"})
_TITLE_SUFFIX_RE = re.compile(r"^(?P<title>.+?)\s+[-|–—·»_]\s+[^-|–—·»_]+$")


def _is_html(text: str, options: ParseOptions) -> bool:
    content_type = (options.content_type or "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = text.lstrip()[:_HTML_SNIFF_CHARS]
    return head.startswith("<") and _HTML_SNIFF_RE.search(head) is not None


def _declared_charset(data: bytes, options: ParseOptions) -> str | None:
    """The charset the bytes declare: the HTTP Content-Type, then an HTML ``<meta charset>``.

    A byte-order mark still wins (see ``decode_text``).
    """
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_\-]+)", options.content_type or "", re.I)
    if match:
        return match.group(1)
    found = _META_CHARSET_RE.search(data[:_HTML_SNIFF_CHARS])
    return found.group(1).decode("ascii") if found else None


def _xpath_strings(element: lxml.html.HtmlElement, query: str, **variables: str) -> list[str]:
    result = element.xpath(query, **variables)
    if not isinstance(result, list):
        return []
    return [str(item).strip() for item in result if isinstance(item, str) and str(item).strip()]


def _xpath_elements(element: lxml.html.HtmlElement, query: str) -> list[lxml.html.HtmlElement]:
    result = element.xpath(query)
    if not isinstance(result, list):
        return []
    return [item for item in result if isinstance(item, lxml.html.HtmlElement)]


def _meta(doc: lxml.html.HtmlElement, *names: str) -> str | None:
    for name in names:
        values = _xpath_strings(
            doc, "//meta[@property=$n or @name=$n or @itemprop=$n]/@content", n=name
        )
        if values:
            return values[0]
    return None


def _json_ld(doc: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object in the page, ``@graph`` members included; bad JSON is skipped."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            found.append(value)
            walk(value.get("@graph"))

    for script in _xpath_elements(doc, '//script[@type="application/ld+json"]'):
        try:
            walk(json.loads(script.text or ""))
        except ValueError:
            continue
    return found


def _json_ld_authors(objects: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    for obj in objects:
        value = obj.get("author")
        names = [
            (item.get("name") if isinstance(item, dict) else item)
            for item in (value if isinstance(value, list) else [value])
        ]
        clean = tuple(n.strip() for n in names if isinstance(n, str) and n.strip())
        if clean:
            return clean
    return ()


def _text_length(element: lxml.html.HtmlElement) -> int:
    return len(" ".join(element.text_content().split()))


def _has_clutter_name(element: lxml.html.HtmlElement) -> bool:
    names = f"{element.get('class', '')} {element.get('id', '')}".lower()
    return any(
        token in _CLUTTER_WORDS or token.startswith(_CLUTTER_PREFIXES)
        for token in re.split(r"[^a-z0-9]+", names)
        if token
    )


def _drop_clutter(root: lxml.html.HtmlElement) -> None:
    """Remove clutter below ``root`` (never ``root`` itself), comments included.

    An element whose class or id names clutter is dropped only if it holds less than half of
    the text: ``<div class="content has-sidebar">`` wrapping the article must stay. Better a
    long comment thread kept than the article lost.
    """
    half = _text_length(root) / 2
    doomed = [
        el
        for el in root.iterdescendants()
        if not isinstance(el, lxml.html.HtmlElement)  # comments, processing instructions
        or el.tag in _DROP_TAGS
        or (_has_clutter_name(el) and _text_length(el) < half)
    ]
    for el in doomed:
        _remove(el)


def _remove(element: etree._Element) -> None:
    """Remove ``element`` and its children, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _body_root(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    for query in ('//*[@itemprop="articleBody"]', "//article", "//main", '//*[@role="main"]'):
        candidates = _xpath_elements(doc, query)
        if candidates:
            root = max(candidates, key=_text_length)
            _drop_clutter(root)
            return root
    body = doc.body
    _drop_clutter(body)
    scores: dict[lxml.html.HtmlElement, int] = {}
    for paragraph in body.iter("p"):
        parent = paragraph.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + _text_length(paragraph)
    return max(scores, key=lambda el: scores[el]) if scores else body


def _inner_html(root: lxml.html.HtmlElement) -> str | None:
    parts = [html.escape(root.text, quote=False)] if root.text and root.text.strip() else []
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in root)
    content = "".join(parts).strip()
    return content or None


def _html_link(doc: lxml.html.HtmlElement, location: str | None) -> str | None:
    """``<link rel=canonical>``, then ``og:url``: the first that is (or resolves to) http(s)."""
    candidates = _xpath_strings(doc, '//link[@rel="canonical"]/@href')
    candidates += [value for value in [_meta(doc, "og:url")] if value]
    for candidate in candidates:
        url = urljoin(location, candidate) if location else candidate
        if urlsplit(url).scheme in ("http", "https"):
            return url
    return None


def _html_title(doc: lxml.html.HtmlElement) -> str | None:
    title = _meta(doc, "og:title", "twitter:title")
    if title:
        return " ".join(title.split())
    for query in ("//article//h1", "//main//h1", "//h1"):
        for h1 in _xpath_elements(doc, query):
            text = " ".join(h1.text_content().split())
            if text:
                return text
    element = doc.find(".//title")
    text = " ".join(element.text_content().split()) if element is not None else ""
    if not text:
        return None
    match = _TITLE_SUFFIX_RE.match(text)
    return match.group("title") if match else text


def _html_published(
    doc: lxml.html.HtmlElement, ld: Sequence[dict[str, Any]], timezone: str
) -> datetime | None:
    candidates = [_meta(doc, "article:published_time", "datePublished", "pubdate")]
    candidates += _xpath_strings(doc, "//article//time/@datetime | //main//time/@datetime")
    candidates += _xpath_strings(doc, "//time/@datetime")
    candidates += [str(obj["datePublished"]) for obj in ld if obj.get("datePublished")]
    for candidate in candidates:
        value = parse_datetime(candidate, timezone)
        if value is not None:
            return value
    return None


def _html_authors(doc: lxml.html.HtmlElement, ld: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    meta = _meta(doc, "author")
    if meta:
        return _split_names(meta)
    from_ld = _json_ld_authors(ld)
    if from_ld:
        return from_ld
    for element in _xpath_elements(doc, '//*[@rel="author" or @itemprop="author"]'):
        name = " ".join(element.text_content().split())
        if name:
            return (name,)
    return ()


def _parse_html(text: str, *, source: str, options: ParseOptions) -> ParsedFeed:
    warnings: list[str] = []
    try:
        doc = lxml.html.document_fromstring(_XML_DECL_RE.sub("", text, count=1))
    except (etree.ParserError, ValueError) as err:
        raise ParseError(f"the HTML cannot be read: {err}", source=source) from err
    if not isinstance(doc, lxml.html.HtmlElement):
        raise ParseError("the HTML cannot be read as a document", source=source)
    ld = _json_ld(doc)
    title = _html_title(doc)
    link = _html_link(doc, options.location)
    base = link or options.location
    # The meta line ("发布时间：... 作者：...") as text, before clutter removal drops it.
    meta_line = next(
        (
            line
            for line in (raw.strip() for raw in doc.text_content().splitlines())
            if line and len(line) <= _META_MAX_LENGTH and _labelled_datetime(line, options.timezone)
        ),
        None,
    )
    published = _html_published(doc, ld, options.timezone)
    if published is None and meta_line:
        published = _labelled_datetime(meta_line, options.timezone)
    if published is None:
        warnings.append("no publication time found")
    authors = _html_authors(doc, ld) or (_labelled_authors(meta_line) if meta_line else ())

    root = _body_root(doc)
    for heading in list(root.iter("h1", "h2")):
        if title and " ".join(heading.text_content().split()) == title:
            _remove(heading)
    if not authors:
        authors = next(
            (found for line in _lines(root) for found in [_labelled_authors(line)] if found), ()
        )
    if base and urlsplit(base).scheme in ("http", "https"):
        root.make_links_absolute(base, handle_failures="ignore")
    content = _inner_html(root) if _text_length(root) else None
    if content is None:
        raise ParseError(
            "no article text found in the HTML page",
            source=source,
            hint="the page may build its text with JavaScript; save the rendered page instead",
        )
    if not title:
        warnings.append("no title found (no og:title, <h1> or <title>)")
    entry = ParsedEntry(
        title=title or "", link=link, published=published, authors=authors, content=content
    )
    return ParsedFeed(entries=(entry,), warnings=tuple(warnings))


def _lines(root: lxml.html.HtmlElement) -> Iterator[str]:
    for line in root.text_content().splitlines()[:20]:
        if line.strip():
            yield line.strip()


# --- entry point -------------------------------------------------------------------------------


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse one article page (HTML or saved text) into one entry.

    Raises ParseError when the page is empty, has no title line, or no article text is left
    once the site's clutter is removed.
    """
    text = decode_text(data, source=source, declared=_declared_charset(data, options))
    if not text.strip():
        raise ParseError("the page is empty", source=source, hint="check the saved file or the URL")
    if _is_html(text, options):
        return _parse_html(text, source=source, options=options)
    return _parse_text(text, source=source, options=options)
