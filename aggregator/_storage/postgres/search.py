"""Full-text search on PostgreSQL: ``search_text`` rows with a weighted tsvector and
a GIN index (migrations 15 and 20), filled in bulk after ingest from ``search_pending``.

The query language is the words syntax of ``fts``, parsed by ``fts.parse_query`` as
for SQLite and made a tsquery by :mod:`.tsquery` (words, "phrases", ``word*``,
``-word``, ``OR``, ``title:`` and the other fields); ranking is ``ts_rank_cd`` with
the columns weighted as ``fts.WEIGHTS``, marked titles and snippets ``ts_headline``
with the marks SQLite's highlight() and snippet() use. SQLite's FTS5 syntax
(``syntax="fts5"``) is SQLite's alone: a SearchError here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..._common import fts
from ...errors import SearchError
from ...types import Marked, SearchHit, SearchResults
from .base import PgStoreBase
from .search_index import CONFIG, LABELS, fill_search_index
from .tsquery import tsquery_text

#: ts_rank_cd's weights for labels D, C, B, A (content, abstract, authors, title; see
#: ``search_index.LABELS``), in the proportions of ``fts.WEIGHTS``.
_RANK_WEIGHTS = (
    "{"
    + ", ".join(
        str(fts.WEIGHTS[fts.COLUMNS.index(column)] / max(fts.WEIGHTS))
        for label in "DCBA"
        for column, named in LABELS.items()
        if named == label
    )
    + "}"
)
_MARKS = f"StartSel={fts.OPEN}, StopSel={fts.CLOSE}, MaxWords=32, MinWords=31"
_WHOLE = f"StartSel={fts.OPEN}, StopSel={fts.CLOSE}, HighlightAll=true"

#: Stands for "<" in the text given to ts_headline: a control character, never in
#: indexed text (``fts.index_text`` takes them out), that no tag begins with.
_TAG = "\x01"
_HEADLINES = ", ".join(
    f"ts_headline('{CONFIG}', replace(t.{column}, '<', chr(1)), p.query, %s)"
    for column in ("title", "abstract", "content", "authors")
)


class PgSearchQueries(PgStoreBase):
    def update_search_index(self) -> int:
        """Index every entry stored or changed since the last call, in one transaction;
        returns how many."""
        with self.transaction():
            return fill_search_index(self.conn)

    def search(
        self,
        query: str,
        *,
        syntax: str = "words",
        category: str | None = None,
        since: date | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResults:
        """Entries matching ``query``, best first, linked duplicates left out;
        ``category`` and ``since`` (digest day, inclusive) narrow it."""
        if syntax != "words":
            raise SearchError(
                f"cannot search for {query!r}: the {syntax} query syntax is SQLite's",
                hint="leave out --fts5 on a PostgreSQL database",
            )
        text = tsquery_text(fts.parse_query(query))
        if text is None:
            return SearchResults(
                query=query, total=0, offset=offset, hits=(), unindexed=self.search_backlog()
            )
        condition, params = _condition(text, category, since)
        tables = (
            f"(SELECT to_tsquery('{CONFIG}', %s) AS query) AS q,"
            " search_text AS t JOIN entries AS e ON e.key = t.entry_key"
        )
        total = int(
            self._execute(f"SELECT count(*) FROM {tables} WHERE {condition}", params).fetchone()[0]
        )
        # The headlines of the page's rows alone (not of every match), tags kept as
        # text: ts_headline would drop what its parser takes for one.
        found = self._execute(
            f"SELECT p.entry_key, p.score, {_HEADLINES} FROM"
            f" (SELECT t.entry_key, -ts_rank_cd('{_RANK_WEIGHTS}', t.words, q.query) AS score,"
            " q.query, e.updated FROM"
            f" {tables} WHERE {condition}"
            " ORDER BY score, e.updated DESC, e.key LIMIT %s OFFSET %s) AS p"
            " JOIN search_text AS t ON t.entry_key = p.entry_key"
            " ORDER BY p.score, p.updated DESC, p.entry_key",
            [_WHOLE, _MARKS, _MARKS, _MARKS, *params, limit, offset],
        ).fetchall()
        entries = self.get_entries([row[0] for row in found])  # type: ignore[attr-defined]
        hits = tuple(
            SearchHit(
                entry=entries[key],
                title=fts.marked_runs(title.replace(_TAG, "<")),
                snippet=_best(parts),
                score=float(score),
            )
            for key, score, title, *parts in found
            if key in entries
        )
        return SearchResults(
            query=query, total=total, offset=offset, hits=hits, unindexed=self.search_backlog()
        )

    def search_backlog(self) -> int:
        """Entries stored or changed and not indexed yet."""
        return int(self._execute("SELECT count(*) FROM search_pending").fetchone()[0])


def _condition(text: str, category: str | None, since: date | None) -> tuple[str, list[Any]]:
    """The WHERE clause of a search and its parameters (the query text first)."""
    where = ["t.words @@ q.query", "t.entry_key NOT IN (SELECT entry_key FROM duplicates)"]
    params: list[Any] = [text]
    if category is not None:
        where.append("t.entry_key IN (SELECT entry_key FROM entry_categories WHERE category = %s)")
        params.append(category)
    if since is not None:
        where.append("e.digest_day >= %s")
        params.append(since.isoformat())
    return " AND ".join(where), params


def _best(parts: list[str]) -> Marked:
    runs = [fts.marked_runs(part.replace(_TAG, "<")) for part in parts]
    best = next((run for run in runs if any(hit for _, hit in run)), None)
    return best or runs[0] or runs[1]
