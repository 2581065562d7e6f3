"""Shared by the page parsers: reading dates, date and author labels, and author names.

Pure text functions; see :mod:`aggregator._sources.page` for how a page is read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .._update.normalize import to_utc

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


#: Longest line that can be a meta line (date, source, author) rather than text.
_META_MAX_LENGTH = 200
