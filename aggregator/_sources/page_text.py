"""Pages saved as text: the title, the meta line and the article between the clutter.

See :mod:`aggregator._sources.page` for the rules.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..errors import ParseError
from ..types import ParsedEntry, ParsedFeed
from .common import ParseOptions
from .page_common import (
    _BYLINE_AUTHOR_RE,
    _META_MAX_LENGTH,
    _labelled_authors,
    _labelled_datetime,
    _split_names,
    _unlabelled_datetime,
)

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
