"""What the full-text index holds and how a search is asked: pure text rules, no SQL.

The SQLite store (``_storage/sqlite/search.py``) indexes, for each entry, four columns
of plain text made here (by the parsing workers, ahead, for most entries a run
stores): the title, the abstract (summary and summary sections), the authors and the
content, HTML tags and entities resolved (:func:`index_columns`). SQLite's FTS5
``unicode61`` tokenizer splits words at spaces and punctuation, which Chinese and
Japanese do not use, and would index a whole run of them as one word that no search for
a word inside it finds. So every Han, kana and Hangul character is made a word of its
own here, by putting an invisible separator (``SEPARATOR``, a control character the
tokenizer splits at) around it; a search for a CJK word asks for its characters as a
phrase, that is one after the other. That finds any CJK word of one character or more
(the trigram tokenizer finds none under three), as Lucene's standard analyzer does for
Han. Snippets come back from SQLite with the separators in: :func:`marked_runs` takes
them out again.

The query language (:func:`compile_query`) is made for a search box: words (each must
occur; a word matches its inflections, with Porter stemming), ``"a phrase"``, ``word*``
for a prefix, ``-word`` to leave out, ``OR`` between two words, and ``title:``,
``abstract:``, ``authors:``, ``content:`` before a word or phrase. Whatever else is
typed is searched as text: ``C++`` looks for ``c``, ``don't`` for the phrase ``don t``;
only a query with no letter or digit in it is refused (:class:`SearchError`).
``syntax="fts5"`` passes SQLite's own FTS5 query syntax through instead (its errors
become :class:`SearchError` in the store).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import SearchError
from ..types import Marked

#: The columns of the index, in order; their weights for bm25 (a word in the title
#: counts four times one in the content).
COLUMNS = ("title", "abstract", "authors", "content")
WEIGHTS = (4.0, 2.0, 3.0, 1.0)

#: The SQLite tokenizer: Unicode words, accents ignored (``café`` finds ``cafe``),
#: English words stemmed (``agents`` finds ``agent``).
TOKENIZER = "porter unicode61 remove_diacritics 2"

#: Put around each CJK character in indexed text: the tokenizer splits at it (a control
#: character), nothing else uses it (control characters are taken out of the text).
SEPARATOR = "\x1f"

#: What SQLite's snippet() and highlight() put around a match (also control characters,
#: so never part of indexed text).
OPEN, CLOSE = "\x02", "\x03"

_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f"  # Bopomofo
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # halfwidth Katakana
    "\U00020000-\U0003134f"  # CJK extensions B to G
)
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
#: Control characters (the separator and the match marks among them); tab and line
#: breaks stay, they separate words.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL_RE = re.compile(f"[{_CONTROLS}]")
#: One scan tells whether a text needs either change (most need neither).
_SPECIAL_RE = re.compile(f"[{_CONTROLS}{_CJK}]")

# HTML to text, for indexing: stored HTML is sanitised (no script, no comments), and
# the tokenizer ignores runs of white space, so this only resolves tags and entities.
# Block ends and line breaks separate words; other tags (<em>, <sub>) do not.
_BLOCK_RE = re.compile(r"(?i)<br\b[^>]*>|</?(?:p|div|li|ul|ol|h\d|tr|td|th|blockquote|pre)\b[^>]*>")
_TAG_RE = re.compile(r"<[^>]*>")
_HIDDEN_RE = re.compile(r"(?is)<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)")


def index_text(text: str) -> str:
    """``text`` as the index holds it: no control characters (each made a space), CJK
    characters apart."""
    if text.isascii():
        # No CJK; printable ASCII has no control character (nor tab or line break, which
        # the pattern would pass over): most titles and abstracts, without a scan.
        if text.isprintable() or _CONTROL_RE.search(text) is None:
            return text
        return _CONTROL_RE.sub(" ", text)
    if _SPECIAL_RE.search(text) is None:
        return text
    if _CONTROL_RE.search(text):
        text = _CONTROL_RE.sub(" ", text)
    return _CJK_RUN_RE.sub(_apart, text)


def _apart(match: re.Match[str]) -> str:
    return f"{SEPARATOR}{SEPARATOR.join(match.group())}{SEPARATOR}"


def html_text(value: str | None) -> str:
    """The text of a stored (sanitised) HTML fragment, white space as it comes."""
    if not value:
        return ""
    if "<" in value:
        if "<s" in value or "<S" in value:
            value = _HIDDEN_RE.sub(" ", value)
        value = _TAG_RE.sub("", _BLOCK_RE.sub(" ", value))
    return html.unescape(value) if "&" in value else value


#: The indexed columns of one entry: title, abstract, authors, content.
Columns = tuple[str, str, str, str]


def index_columns(
    *,
    title: str,
    summary: str | None,
    sections: str,
    authors: str,
    content: str | None,
) -> Columns:
    """The four indexed columns of an entry, from its stored columns: the title is text,
    summary and content are HTML, ``sections`` and ``authors`` JSON lists (see
    :func:`entry_columns`)."""
    return entry_columns(
        title=title,
        summary=summary,
        sections=json.loads(sections) if sections != "[]" else (),
        authors=json.loads(authors) if authors != "[]" else (),
        content=content,
    )


def entry_columns(
    *,
    title: str,
    summary: str | None,
    sections: Sequence[Sequence[str]],
    authors: Sequence[str],
    content: str | None,
) -> Columns:
    """The four indexed columns of an entry, from its fields (as an ``Entry`` holds
    them: what a parsing worker computes ahead). Content that repeats the summary is
    left out, so that an entry is not counted twice for the same words."""
    abstract = html_text(summary)
    if sections:
        parts = [f"{heading}: {text}" for heading, text in sections]
        abstract = "\n".join(part for part in (abstract, *parts) if part)
    body = html_text(content)
    if body == abstract:
        body = ""
    names = "; ".join(authors)
    return index_text(title), index_text(abstract), index_text(names), index_text(body)


# -- reading back ---------------------------------------------------------------------

_JOINED_RE = re.compile(f"{CLOSE}({SEPARATOR}*){OPEN}")


def marked_runs(value: str | None) -> Marked:
    """What snippet() or highlight() gave, as runs of text: separators taken out (two
    marked CJK characters side by side are one marked run), white space collapsed."""
    if not value:
        return ()
    if SEPARATOR in value:
        value = _JOINED_RE.sub("", value).replace(SEPARATOR, "")
    runs: list[tuple[str, bool]] = []
    parts = re.split(f"[{OPEN}{CLOSE}]", " ".join(value.split()))
    for index, part in enumerate(parts):
        if part:
            runs.append((part, index % 2 == 1))
    return tuple(runs)


def plain(marked: Marked) -> str:
    """The text of ``marked`` without its marks."""
    return "".join(text for text, _ in marked)


# -- the query language ---------------------------------------------------------------

SYNTAXES = ("words", "fts5")

#: Field names a user may put before a word, and the column each means.
FIELDS = {
    "title": "title",
    "abstract": "abstract",
    "summary": "abstract",
    "author": "authors",
    "authors": "authors",
    "content": "content",
}

# One term: an optional "-", an optional field, then a phrase in quotes (to the end if
# unclosed) or a run of anything but white space; or OR alone.
_TERM_RE = re.compile(
    r'(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))'
)


@dataclass(frozen=True)
class Term:
    """One thing a query looks for: a word or phrase as typed (``text``), in ``column``
    alone when given, its last word a prefix when ``prefix``."""

    text: str
    column: str | None = None
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query: every group of ``wanted`` must match (one of the group's terms),
    none of ``unwanted`` may."""

    wanted: tuple[tuple[Term, ...], ...]
    unwanted: tuple[Term, ...]


def compile_query(text: str, *, syntax: str = "words") -> str:
    """A user's query as an FTS5 MATCH expression; :class:`SearchError` if it asks for
    nothing (no letter or digit to look for) or ``syntax`` is unknown."""
    if syntax == "fts5":
        return _fts5(text)
    if syntax != "words":
        raise SearchError(f"unknown query syntax {syntax!r}", hint=f"use one of {SYNTAXES}")
    query = parse_query(text)
    required = " AND ".join(
        _fts5_term(group[0]) if len(group) == 1 else f"({' OR '.join(map(_fts5_term, group))})"
        for group in query.wanted
    )
    unwanted = [_fts5_term(term) for term in query.unwanted]
    return " NOT ".join([f"({required})" if unwanted else required, *unwanted])


def parse_query(text: str) -> Query:
    """A user's query in the words syntax (see the module docstring), parsed;
    :class:`SearchError` if it asks for nothing."""
    wanted: list[list[Term]] = []  # groups of alternatives, all required
    unwanted: list[Term] = []
    joined = False  # the previous token was OR
    for match in _TERM_RE.finditer(text):
        found, negative = _term(match)
        if found == "OR" and wanted and not negative:
            joined = True
            continue
        if found is None:
            continue
        # OR with nothing before it to join: the word itself.
        term = Term("OR") if isinstance(found, str) else found
        if negative:
            unwanted.append(term)
        elif joined:
            wanted[-1].append(term)
        else:
            wanted.append([term])
        joined = False
    if not wanted:
        raise SearchError(
            f"nothing to search for in {text.strip()!r}"
            if text.strip()
            else "the search query is empty",
            hint="give at least one word to look for (a word made of letters or digits;"
            " -word only leaves out)",
        )
    return Query(tuple(tuple(group) for group in wanted), tuple(unwanted))


def _fts5_term(term: Term) -> str:
    quoted = '"' + index_text(term.text).replace('"', '""') + '"' + (" *" if term.prefix else "")
    return f"{term.column} : {quoted}" if term.column else quoted


def _term(match: re.Match[str]) -> tuple[Term | str | None, bool]:
    """One matched term (None when it has nothing to look for, "OR" for the operator)."""
    negative = bool(match.group("neg"))
    field = match.group("field")
    phrase, word = match.group("phrase"), match.group("word")
    column = FIELDS.get(field.lower()) if field else None
    if field and column is None:
        # Not a field name: "ratio:3" is text to look for.
        word = f"{field}:{word if word is not None else phrase}"
        phrase = None
    if word == "OR" and not negative and not field:
        return "OR", False
    prefix = False
    if word is not None:
        prefix = word.endswith("*") and len(word) > 1
        text = word.rstrip("*") if prefix else word
    else:
        text = phrase or ""
    if not _has_word(text):
        return None, negative
    return Term(text, column, prefix), negative


def words(text: str) -> list[str]:
    """The words of ``text`` much as the SQLite tokenizer splits it: runs of letters and
    digits (composed first, so that a letter and its accent typed apart stay one word),
    each CJK character a word of its own. Private use characters, which unicode61 keeps
    as words, are left out."""
    return _WORD_RE.findall(unicodedata.normalize("NFC", index_text(text)))


def _has_word(text: str) -> bool:
    """Whether the tokenizer finds a word in ``text``: a letter, a digit or a private
    use character (unicode61's token characters)."""
    return any(unicodedata.category(c)[0] in "LN" or unicodedata.category(c) == "Co" for c in text)


# Letters and digits (Python's ``isalnum``; not the underscore).
_WORD_RE = re.compile(r"[^\W_]+")


def _fts5(text: str) -> str:
    """SQLite's own syntax, with CJK runs outside quotes made quoted phrases and CJK
    characters inside quotes set apart, as the index holds them."""
    if not text.strip():
        raise SearchError("the search query is empty", hint="give at least one word")
    parts = text.split('"')
    for index, part in enumerate(parts):
        if index % 2:  # inside quotes
            parts[index] = index_text(part)
        else:
            parts[index] = _CJK_RUN_RE.sub(lambda m: f'"{index_text(m.group())}"', part)
    return '"'.join(parts)
