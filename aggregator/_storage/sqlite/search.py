"""Full-text search: the FTS5 index of every stored entry, and searching it.

The index (migration 15) is sqlite-utils' ``enable_fts`` over ``search_text``, a table
holding per entry the four columns of plain text that :mod:`aggregator._common.fts` makes
(title, abstract, authors, content), with sqlite-utils' triggers keeping the FTS5 table
``search_text_fts`` in step with its rows. Entries reach ``search_text`` in bulk, after
ingest, never one by one while a run stores them: a trigger on ``entries`` only notes
the key of each new or changed entry in ``search_pending``, and
:meth:`SearchQueries.update_search_index` indexes what is noted, hundreds of rows per
statement (the text is made in Python: HTML resolved, CJK characters set apart). A
pruned entry takes its ``search_text`` row along (foreign key, cascade), and that row's
index entries with it (sqlite-utils' delete trigger).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import Any

from ..._common import fts
from ...errors import SearchError
from ...types import Marked, SearchHit, SearchResults
from .base import chunks, storage_error
from .entries import EntryQueries
from .search_index import fill_search_index

_WEIGHTS = ", ".join(str(weight) for weight in fts.WEIGHTS)
_SNIPPET_TOKENS = 32


class SearchQueries(EntryQueries):
    def update_search_index(self) -> int:
        """Index every entry stored or changed since the last call, in one transaction;
        returns how many."""
        with self.transaction():
            return fill_search_index(self.db.conn)

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
        """Entries matching ``query`` (see :func:`fts.compile_query`), best first (bm25,
        title and authors weighing most), linked duplicates left out; ``category`` and
        ``since`` (digest day, inclusive) narrow it. SearchError for a bad query."""
        expression = fts.compile_query(query, syntax=syntax)
        where = [
            "search_text_fts MATCH ?",
            "t.entry_key NOT IN (SELECT entry_key FROM duplicates)",
        ]
        params: list[Any] = [expression]
        if category is not None:
            where.append(
                "t.entry_key IN (SELECT entry_key FROM entry_categories WHERE category = ?)"
            )
            params.append(category)
        if since is not None:
            where.append("e.digest_day >= ?")
            params.append(since.isoformat())
        tables = (
            "search_text_fts JOIN search_text AS t ON t.id = search_text_fts.rowid"
            " JOIN entries AS e ON e.key = t.entry_key"
        )
        condition = " AND ".join(where)
        try:
            total = int(
                self.db.conn.execute(
                    f"SELECT count(*) FROM {tables} WHERE {condition}", params
                ).fetchone()[0]
            )
            found = self.db.conn.execute(
                f"SELECT t.id, t.entry_key, bm25(search_text_fts, {_WEIGHTS}) AS score"
                f" FROM {tables} WHERE {condition}"
                " ORDER BY score, e.updated DESC, e.key LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            marks = self._marks(expression, [row[0] for row in found])
        except sqlite3.OperationalError as err:
            raise _query_error(err, query, syntax) or storage_error(
                err, self.path, self.busy_timeout
            ) from err
        entries = self.get_entries([key for _, key, _ in found])
        hits = tuple(
            SearchHit(
                entry=entries[key], title=marks[ident][0], snippet=marks[ident][1], score=score
            )
            for ident, key, score in found
            if key in entries
        )
        return SearchResults(
            query=query, total=total, offset=offset, hits=hits, unindexed=self.search_backlog()
        )

    def _marks(self, expression: str, ids: Sequence[int]) -> dict[int, tuple[Marked, Marked]]:
        """The marked title and best snippet of each of ``ids`` (rowids of the index):
        computed for the page's rows alone, not for every match."""
        found: dict[int, tuple[Marked, Marked]] = {}
        snippets = ", ".join(
            f"snippet(search_text_fts, {fts.COLUMNS.index(column)}, ?2, ?3, '…', {_SNIPPET_TOKENS})"
            for column in ("abstract", "content", "authors")
        )
        for chunk in chunks(list(ids)):
            rows = self.db.conn.execute(
                f"SELECT rowid, highlight(search_text_fts, 0, ?2, ?3), {snippets}"
                " FROM search_text_fts WHERE search_text_fts MATCH ?1"
                " AND rowid IN (SELECT value FROM json_each(?4))",
                [expression, fts.OPEN, fts.CLOSE, json.dumps(chunk)],
            )
            for ident, title, *parts in rows:
                runs = [fts.marked_runs(part) for part in parts]
                best = next((run for run in runs if any(hit for _, hit in run)), None)
                found[ident] = (fts.marked_runs(title), best or runs[0] or runs[1])
        return found

    def search_backlog(self) -> int:
        """Entries stored or changed and not indexed yet."""
        return int(self.db.execute("SELECT count(*) FROM search_pending").fetchone()[0])


def _query_error(err: sqlite3.OperationalError, query: str, syntax: str) -> SearchError | None:
    """``err`` as the user's mistake, when SQLite says the query is not well formed
    (its messages: "fts5: syntax error near ...", "unterminated string", "no such
    column: x", "unknown special query")."""
    text = str(err)
    if not any(sign in text for sign in _QUERY_ERRORS):
        return None
    if syntax == "fts5":
        hint = (
            "write it in SQLite's FTS5 query syntax"
            " (https://www.sqlite.org/fts5.html#full_text_query_syntax),"
            " or leave out --fts5 to search for the words as typed"
        )
    else:
        hint = "put the words in double quotes to search for them as a phrase"
    return SearchError(f"cannot search for {query!r}: {text}", hint=hint)


_QUERY_ERRORS = ("fts5:", "unterminated string", "no such column", "unknown special query")
