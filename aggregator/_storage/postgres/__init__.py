"""PostgreSQL storage: the same protocol, schema and semantics as ``sqlite``, on a server.

Chosen by ``[storage] url = "postgresql://..."``. Owns the connection pool and the
text adaptation (``connect``), transactions and migrations (``base``, ``schema``),
the queries, one mixin per concern as in ``sqlite`` (``entries``, ``records``,
``dupes``), and the run lock as an advisory lock (``lock``). Holds no business rules,
and never decides anything the SQLite store would decide differently: the
parametrised storage tests run the same assertions on both.
"""

from __future__ import annotations

from .articles import PgArticleQueries
from .dupes import PgDuplicateQueries
from .entries import PgEntryQueries
from .extras import PgExtraQueries
from .schema import MIGRATIONS
from .search import PgSearchQueries


class PostgresStore(
    PgSearchQueries, PgEntryQueries, PgDuplicateQueries, PgExtraQueries, PgArticleQueries
):
    """A PostgreSQL database holding entries, their categories and sources, and runs."""


__all__ = ["MIGRATIONS", "PostgresStore"]
