"""Filling PostgreSQL's full-text index: the entries noted in ``search_pending``
written into ``search_text`` with their tsvector, in bulk (see :mod:`.search`).

Apart from the store's mixins so that migrations 15 and 20, which index an existing
database, can use it too. The text is made by ``fts.index_columns``, as for SQLite,
and kept for headlines; the tsvector is made from its words as ``fts.words`` splits
them (runs of letters and digits, each CJK character a word), so that PostgreSQL's
parser sees the words SQLite's tokenizer sees (not its URLs, numbers with a point or
hyphenated words, which it would index otherwise), and the query side splits typed
words the same way (:mod:`.tsquery`).
"""

from __future__ import annotations

from typing import Any

from ..._common import fts

#: Entries indexed per statement.
CHUNK = 500

#: The text search configuration (migration 20): words lower case, accents taken off
#: (the ``unaccent`` dictionary, when the extension could be created) and English
#: words stemmed by Snowball's English stemmer, without stop words (SQLite's FTS5
#: stems with Porter's and drops no word either).
CONFIG = "aggregator_search"

#: The weight label of each column (title A, authors B, abstract C, content D), whose
#: ts_rank weights are in the proportions of ``fts.WEIGHTS``; a field filter
#: (``title:word``) asks for the label.
LABELS = {"title": "A", "authors": "B", "abstract": "C", "content": "D"}


def _words(config: str) -> str:
    """The tsvector of a row from its columns' words (``w_title``, ``w_abstract``...)."""
    return " || ".join(
        f"setweight(to_tsvector('{config}', w_{column}), '{LABELS[column]}')"
        for column in fts.COLUMNS
    )


_WORD_COLUMNS = ", ".join(f"w_{column}" for column in fts.COLUMNS)


def word_texts(columns: fts.Columns) -> tuple[str, str, str, str]:
    """The text each column's tsvector is made from: its words, one space apart."""
    return tuple(" ".join(fts.words(column)) for column in columns)  # type: ignore[return-value]


def fill_search_index(conn: Any, *, config: str = CONFIG) -> int:
    """Index the entries noted in ``search_pending`` (inside the caller's transaction);
    returns how many were indexed (keys of entries deleted since are dropped).
    ``config``: migration 15 made the index before migration 20 made ours."""
    indexed = 0
    while True:
        keys = [
            key
            for (key,) in conn.execute(
                "SELECT entry_key FROM search_pending ORDER BY entry_key LIMIT %s", [CHUNK]
            )
        ]
        if not keys:
            return indexed
        rows = []
        for key, t, s, x, a, c in conn.execute(
            "SELECT key, title, summary, sections, authors, content FROM entries"
            " WHERE key = ANY(%s::text[])",
            [keys],
        ):
            columns = fts.index_columns(title=t, summary=s, sections=x, authors=a, content=c)
            rows.append((key, *columns, *word_texts(columns)))
        conn.execute("DELETE FROM search_text WHERE entry_key = ANY(%s::text[])", [keys])
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO search_text (entry_key, title, abstract, authors, content, words)"
                f" SELECT k, title, abstract, authors, content, {_words(config)} FROM (VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s)) AS v (k, title, abstract, authors,"
                f" content, {_WORD_COLUMNS})",
                rows,
            )
        conn.execute("DELETE FROM search_pending WHERE entry_key = ANY(%s::text[])", [keys])
        indexed += len(rows)


def stale_rows(conn: Any) -> int:
    """How many rows of ``search_text`` hold a tsvector other than the one their text
    makes now (0 in a sound index; the tests check it)."""
    stale = 0
    query = (
        f"SELECT {_words(CONFIG)} = %s::tsvector"
        f" FROM (VALUES (%s, %s, %s, %s)) AS v ({_WORD_COLUMNS})"
    )
    for *columns, words in conn.execute(
        "SELECT title, abstract, authors, content, words::text FROM search_text"
    ).fetchall():
        (same,) = conn.execute(query, [words, *word_texts(tuple(columns))]).fetchone()
        stale += not same
    return stale
