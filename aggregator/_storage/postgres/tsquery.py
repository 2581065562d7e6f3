"""A parsed search query (``fts.parse_query``) as the text ``to_tsquery`` reads.

The user's words never reach the tsquery syntax as typed: each term is split into
words by ``fts.words`` (letters and digits only, as the index's text is, see
:mod:`.search_index`), and each word goes in single quotes, so no operator, quote or
backslash can come from the user. ``to_tsquery`` then normalises every quoted word
with the index's configuration (lower case, accents, stemming), as ``to_tsvector``
did the indexed words.

The same meaning as the FTS5 expression ``fts.compile_query`` makes: the words of a
term one after the other (``<->``, which is also how a CJK word's characters are
found), its last word a prefix (``:*``), a field filter the column's weight label
(``:A``), every group required (``&``), alternatives (``|``), leaving out (``!``).
"""

from __future__ import annotations

from ..._common import fts
from .search_index import LABELS


def tsquery_text(query: fts.Query) -> str | None:
    """``query`` in to_tsquery's syntax; None when it can find nothing (a required
    term without a word this index holds, such as one of private use characters)."""
    groups: list[str] = []
    for group in query.wanted:
        alternatives = [text for text in map(_term, group) if text is not None]
        if not alternatives:
            return None
        groups.append(
            alternatives[0] if len(alternatives) == 1 else f"({' | '.join(alternatives)})"
        )
    for term in query.unwanted:
        text = _term(term)
        if text is not None:
            groups.append(f"!{text}")
    return " & ".join(groups)


def _term(term: fts.Term) -> str | None:
    words = fts.words(term.text)
    if not words:
        return None
    label = LABELS[term.column] if term.column else ""
    quoted = [f"'{word}'" + (f":{label}" if label else "") for word in words]
    if term.prefix:
        quoted[-1] = f"'{words[-1]}':*{label}"
    text = " <-> ".join(quoted)
    return f"({text})" if len(quoted) > 1 else text
