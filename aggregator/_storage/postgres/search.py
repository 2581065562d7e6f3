"""Full-text search on PostgreSQL: ``search_text`` rows with a weighted tsvector and
a GIN index (migration 15), filled in bulk after ingest from ``search_pending``.

The query language is the words syntax of ``fts`` as PostgreSQL's
``websearch_to_tsquery`` reads it (words, "phrases", ``-word``, ``OR``); ranking is
``ts_rank`` with the title weighing most, marked titles and snippets ``ts_headline``.
SQLite's FTS5 syntax (``syntax="fts5"``) is SQLite's alone: a SearchError here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..._common import fts
from ...errors import SearchError
from ...types import Marked, SearchHit, SearchResults
from .base import PgStoreBase
from .search_index import CONFIG, fill_search_index

#: ts_rank's weights for labels D, C, B, A (content, abstract, authors, title), in
#: the proportions of ``fts.WEIGHTS``.
_RANK_WEIGHTS = "{0.25, 0.5, 0.75, 1.0}"
_MARKS = f"StartSel={fts.OPEN}, StopSel={fts.CLOSE}, MaxWords=32, MinWords=12"
_WHOLE = f"StartSel={fts.OPEN}, StopSel={fts.CLOSE}, HighlightAll=true"


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
        fts.compile_query(query, syntax="words")  # the same SearchError for no words
        text = fts.index_text(query).replace(fts.SEPARATOR, " ")
        condition, params = _condition(text, category, since)
        tables = (
            f"(SELECT websearch_to_tsquery('{CONFIG}', %s) AS query) AS q,"
            " search_text AS t JOIN entries AS e ON e.key = t.entry_key"
        )
        total = int(
            self._execute(f"SELECT count(*) FROM {tables} WHERE {condition}", params).fetchone()[0]
        )
        found = self._execute(
            f"SELECT t.entry_key, -ts_rank('{_RANK_WEIGHTS}', t.words, q.query) AS score,"
            f" ts_headline('{CONFIG}', t.title, q.query, %s),"
            f" ts_headline('{CONFIG}', t.abstract, q.query, %s),"
            f" ts_headline('{CONFIG}', t.content, q.query, %s),"
            f" ts_headline('{CONFIG}', t.authors, q.query, %s)"
            f" FROM {tables} WHERE {condition}"
            " ORDER BY score, e.updated DESC, e.key LIMIT %s OFFSET %s",
            [
                _WHOLE,
                _MARKS,
                _MARKS,
                _MARKS,
                *params,
                limit,
                offset,
            ],
        ).fetchall()
        entries = self.get_entries([row[0] for row in found])  # type: ignore[attr-defined]
        hits = tuple(
            SearchHit(
                entry=entries[key],
                title=fts.marked_runs(title),
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
    runs = [fts.marked_runs(part) for part in parts]
    best = next((run for run in runs if any(hit for _, hit in run)), None)
    return best or runs[0] or runs[1]
