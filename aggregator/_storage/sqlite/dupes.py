"""Duplicate links and what finds them: signatures, LSH band keys, work keys, splits.

Stores what ``neardup`` computed and answers "which stored entries could this new
one duplicate?" with indexed lookups only (one seek per band key and work key),
never a scan of the entries. Decides nothing: the linking stage
(``aggregator._neardup.linking``) does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..._neardup.minhash import MinHasher
from ..._neardup.rules import Candidate, Features, compose_text
from ..bandkeys import band_key_rows
from .base import StoreBase, chunks, json_param, stamp


@dataclass(frozen=True)
class DuplicateLink:
    """One entry linked to the entry kept in its place."""

    id: int
    entry_key: str
    kept_key: str
    reason: str
    similarity: float | None
    linked_at: str
    title: str
    kept_title: str


@dataclass(frozen=True)
class StoredFeatures:
    scheme: str
    signature: bytes | None
    shingles: int
    seen: str
    work_keys: tuple[str, ...]


#: The LSH index: band keys already merged, and those of recent entries. A new entry's
#: keys go to the small second table; once it holds :data:`RECENT_BANDS` rows they are
#: merged into the first in key order, which touches each page of the big table once
#: instead of once per commit (random keys written straight into a table of millions
#: rewrite nearly all of it at every commit: 2.5 times the time at 3 million rows).
BAND_TABLES = ("lsh_bands", "lsh_bands_recent")
RECENT_BANDS = 100_000


def drop_band_keys(conn: sqlite3.Connection, where: str, params: Sequence[object]) -> None:
    """Delete the band keys of the signatures that ``where`` (a condition on
    ``entry_signatures``) selects: made again from the signatures and deleted through
    the tables' primary keys (see ``bandkeys``). In the caller's transaction, before
    the signatures change or go."""
    rows, unknown = band_key_rows(
        conn.execute(f"SELECT id, scheme, signature FROM entry_signatures WHERE {where}", params)
    )
    for table in BAND_TABLES:
        if rows:
            conn.executemany(f"DELETE FROM {table} WHERE band = ? AND sig_id = ?", rows)
        for chunk in chunks(unknown):  # none since migration 23; a scan of the table
            conn.execute(
                f"DELETE FROM {table} WHERE sig_id IN ({','.join('?' * len(chunk))})", chunk
            )


class DuplicateQueries(StoreBase):
    _recent_bands: int | None = None

    def _recent_bands_added(self, count: int) -> None:
        """Count band keys written to the recent table; merge it when it is full.

        In the caller's transaction, so the merge is undone with it. The count is of
        this connection's writes (a rolled back plan's included, which only merges a
        little early).
        """
        if self._recent_bands is None:
            row = self.db.execute("SELECT count(*) FROM lsh_bands_recent").fetchone()
            self._recent_bands = int(row[0])
        else:
            self._recent_bands += count
        if self._recent_bands >= RECENT_BANDS:
            self.merge_recent_bands()

    def merge_recent_bands(self) -> None:
        """Move the recent band keys into ``lsh_bands``, in key order. In a transaction."""
        conn = self.db.conn
        conn.execute(
            "INSERT OR IGNORE INTO lsh_bands"
            " SELECT band, sig_id FROM lsh_bands_recent ORDER BY band, sig_id"
        )
        conn.execute("DELETE FROM lsh_bands_recent")
        self._recent_bands = 0

    def save_features(self, features: Features, *, scheme: str, new: bool = False) -> None:
        """Store (or replace) an entry's signature, band keys and work keys.

        ``new``: the entry was stored just now, in this transaction, so it has no keys
        to replace and no duplicate link yet (a fifth of a first run's statements).
        """
        data = MinHasher.to_bytes(features.signature) if features.signature is not None else None
        if not new:  # the keys of the signature being replaced
            drop_band_keys(self.db.conn, "entry_key = ?", [features.key])
        row = self.db.execute(
            "INSERT INTO entry_signatures (entry_key, scheme, signature, shingles, seen)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (entry_key) DO UPDATE SET"
            " scheme = excluded.scheme, signature = excluded.signature,"
            " shingles = excluded.shingles, seen = excluded.seen RETURNING id",
            [features.key, scheme, data, features.shingle_count, stamp(features.when)],
        ).fetchone()
        sig_id = int(row[0])
        linked = None
        if not new:
            linked = self.db.execute(
                "SELECT 1 FROM duplicates WHERE entry_key = ?", [features.key]
            ).fetchone()
            self.db.execute("DELETE FROM entry_work_keys WHERE entry_key = ?", [features.key])
        if not linked:  # a linked duplicate keeps no band keys (see link_duplicate)
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO lsh_bands_recent VALUES (?, ?)",
                [(band, sig_id) for band in features.bands],
            )
            self._recent_bands_added(len(features.bands))
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO entry_work_keys VALUES (?, ?)",
            [(work, features.key) for work in features.work_keys],
        )

    def save_new_features(self, found: Sequence[Features], *, scheme: str) -> None:
        """Store the features of entries stored just now, in this transaction, in order:
        as :meth:`save_features` with ``new`` does one by one, in three statements."""
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO entry_signatures (entry_key, scheme, signature, shingles, seen)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (entry_key) DO UPDATE SET"
            " scheme = excluded.scheme, signature = excluded.signature,"
            " shingles = excluded.shingles, seen = excluded.seen",
            [
                (
                    f.key,
                    scheme,
                    MinHasher.to_bytes(f.signature) if f.signature is not None else None,
                    f.shingle_count,
                    stamp(f.when),
                )
                for f in found
            ],
        )
        # One row per signature, its band keys unpacked by SQLite: a third of the
        # cost of binding the 32 rows one by one.
        conn.executemany(
            "INSERT OR IGNORE INTO lsh_bands_recent SELECT b.value, s.id"
            " FROM entry_signatures AS s CROSS JOIN json_each(?) AS b WHERE s.entry_key = ?",
            [(json.dumps(f.bands), f.key) for f in found if f.bands],
        )
        self._recent_bands_added(sum(len(f.bands) for f in found))
        conn.executemany(
            "INSERT OR IGNORE INTO entry_work_keys VALUES (?, ?)",
            [(work, f.key) for f in found for work in f.work_keys],
        )

    def candidates(self, features: Features, *, scheme: str) -> list[Candidate]:
        """Stored entries sharing a band key or a work key with ``features``.

        Two indexed queries, whatever the size of the store: one seek per band key and
        per work key, then the work keys of the few entries found. A signature of
        another scheme counts as none (its band keys cannot match anyway).
        """
        parts: list[str] = []
        params: list[object] = []
        if features.bands:
            for table in BAND_TABLES:
                parts.append(
                    f"SELECT sig_id FROM {table}"
                    f" WHERE band IN ({','.join('?' * len(features.bands))})"
                )
                params.extend(features.bands)
        if features.work_keys:
            parts.append(
                "SELECT s.id FROM entry_work_keys w"
                " JOIN entry_signatures s ON s.entry_key = w.entry_key"
                f" WHERE w.work_key IN ({','.join('?' * len(features.work_keys))})"
            )
            params.extend(features.work_keys)
        if not parts:
            return []
        conn = self.db.conn
        rows = conn.execute(
            "SELECT s.entry_key, s.scheme, s.signature, s.seen, d.kept_key"
            " FROM entry_signatures s LEFT JOIN duplicates d ON d.entry_key = s.entry_key"
            f" WHERE s.id IN ({' UNION '.join(parts)}) AND s.entry_key != ?",
            [*params, features.key],
        ).fetchall()
        if not rows:
            return []
        work: dict[str, list[str]] = {}
        keys = [row[0] for row in rows]
        for chunk in chunks(keys):
            for key, value in conn.execute(
                "SELECT entry_key, work_key FROM entry_work_keys"
                f" WHERE entry_key IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                work.setdefault(key, []).append(value)
        return [
            Candidate(
                key=key,
                when=datetime.fromisoformat(seen),
                signature=(
                    MinHasher.from_bytes(signature)
                    if signature is not None and row_scheme == scheme
                    else None
                ),
                work_keys=tuple(work.get(key, ())),
                kept_key=kept_key,
            )
            for key, row_scheme, signature, seen, kept_key in rows
        ]

    def candidates_of(
        self, found: Sequence[Features], *, scheme: str
    ) -> dict[str, list[Candidate]]:
        """:meth:`candidates` of each of ``found``, by key: the same answers, looked up
        for all of them at once (a statement for the band keys, one for the work keys)."""
        conn = self.db.conn
        # Which of ``found`` shares a key with which signature: SQLite matches the
        # keys of all of them at once (a JSON array per entry, unpacked by json_each),
        # so only the hits come back to Python. (CROSS JOIN: SQLite knows nothing of
        # the size of a JSON array, and must not scan a table for each of its items.)
        owners: dict[int, set[int]] = {}
        bands = json.dumps([f.bands for f in found])
        for table in BAND_TABLES:
            for index, sig_id in conn.execute(
                "SELECT f.key, b.sig_id FROM json_each(?) AS f, json_each(f.value) AS k"
                f" CROSS JOIN {table} AS b ON b.band = k.value",
                [bands],
            ):
                owners.setdefault(index, set()).add(sig_id)
        for index, sig_id in self._work_key_owners([f.work_keys for f in found]):
            owners.setdefault(index, set()).add(sig_id)
        rows = self._candidates_by_id(sorted(set().union(*owners.values())), scheme)
        answers: dict[str, list[Candidate]] = {}
        for index, f in enumerate(found):
            ids = owners.get(index, set())
            answers[f.key] = [rows[i] for i in sorted(ids) if i in rows and rows[i].key != f.key]
        return answers

    def _work_key_owners(self, keys: list[tuple[str, ...]]) -> list[tuple[int, int]]:
        """(index in ``keys``, signature id) of the entries having each work key."""
        conn = self.db.conn
        data = json_param(keys)
        if data is not None:
            return conn.execute(
                "SELECT f.key, s.id FROM json_each(?) AS f, json_each(f.value) AS k"
                " CROSS JOIN entry_work_keys AS w ON w.work_key = k.value"
                " CROSS JOIN entry_signatures AS s ON s.entry_key = w.entry_key",
                [data],
            ).fetchall()
        found: list[tuple[int, int]] = []
        for index, works in enumerate(keys):
            for chunk in chunks(list(works)):
                found.extend(
                    (index, sig_id)
                    for (sig_id,) in conn.execute(
                        "SELECT s.id FROM entry_work_keys w"
                        " JOIN entry_signatures s ON s.entry_key = w.entry_key"
                        f" WHERE w.work_key IN ({','.join('?' * len(chunk))})",
                        chunk,
                    )
                )
        return found

    def _candidates_by_id(self, ids: list[int], scheme: str) -> dict[int, Candidate]:
        """The entries of signature rows ``ids`` as candidates, with their work keys."""
        conn = self.db.conn
        found: dict[int, tuple[str, str, bytes | None, str, str | None]] = {}
        for chunk in chunks(ids):
            for sig_id, key, row_scheme, signature, seen, kept_key in conn.execute(
                "SELECT s.id, s.entry_key, s.scheme, s.signature, s.seen, d.kept_key"
                " FROM entry_signatures s LEFT JOIN duplicates d ON d.entry_key = s.entry_key"
                f" WHERE s.id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                found[sig_id] = (key, row_scheme, signature, seen, kept_key)
        work: dict[str, list[str]] = {}
        for keys in chunks([row[0] for row in found.values()]):
            for key, value in conn.execute(
                "SELECT entry_key, work_key FROM entry_work_keys"
                f" WHERE entry_key IN ({','.join('?' * len(keys))})",
                keys,
            ):
                work.setdefault(key, []).append(value)
        return {
            sig_id: Candidate(
                key=key,
                when=datetime.fromisoformat(seen),
                signature=(
                    MinHasher.from_bytes(signature)
                    if signature is not None and row_scheme == scheme
                    else None
                ),
                work_keys=tuple(work.get(key, ())),
                kept_key=kept_key,
            )
            for sig_id, (key, row_scheme, signature, seen, kept_key) in found.items()
        }

    def stored_features(self, keys: Sequence[str]) -> dict[str, StoredFeatures]:
        found: dict[str, StoredFeatures] = {}
        work: dict[str, list[str]] = {}
        for chunk in chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            for key, value in self.db.execute(
                f"SELECT entry_key, work_key FROM entry_work_keys WHERE entry_key IN ({marks})",
                chunk,
            ):
                work.setdefault(key, []).append(value)
            for key, scheme, signature, shingles, seen in self.db.execute(
                "SELECT entry_key, scheme, signature, shingles, seen FROM entry_signatures"
                f" WHERE entry_key IN ({marks})",
                chunk,
            ):
                found[key] = StoredFeatures(
                    scheme, signature, int(shingles), seen, tuple(work.get(key, ()))
                )
        return found

    def entry_texts(self, keys: Sequence[str]) -> dict[str, str]:
        """``neardup.entry_text`` of stored entries, read from their text columns alone
        (a kept entry's categories and sources can run to thousands of rows)."""
        texts: dict[str, str] = {}
        for chunk in chunks(list(keys)):
            for key, title, content, summary, sections in self.db.execute(
                "SELECT key, title, content, summary, sections FROM entries"
                f" WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                pairs = [(str(h), str(t)) for h, t in json.loads(sections)]
                texts[key] = compose_text(title, content, summary, pairs)
        return texts

    def kept_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """For each of ``keys`` that is a linked duplicate, the key kept in its place."""
        kept: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            kept.update(
                self.db.conn.execute(
                    f"SELECT entry_key, kept_key FROM duplicates WHERE entry_key IN ({marks})",
                    chunk,
                ).fetchall()
            )
        return kept

    def split_partners(self, key: str) -> frozenset[str]:
        """Keys a user split from ``key``: they are never merged with it again."""
        rows = self.db.execute(
            "SELECT other_key FROM duplicate_splits WHERE entry_key = ?"
            " UNION SELECT entry_key FROM duplicate_splits WHERE other_key = ?",
            [key, key],
        )
        return frozenset(value for (value,) in rows)

    def entry_source_names(self, key: str) -> list[str]:
        """The sources that delivered ``key`` itself, first first."""
        rows = self.db.execute(
            "SELECT source FROM entry_sources WHERE entry_key = ? ORDER BY rowid", [key]
        )
        return [name for (name,) in rows]

    def link_duplicate(
        self, key: str, *, kept_key: str, reason: str, similarity: float | None, now: datetime
    ) -> None:
        """Link ``key`` to ``kept_key``; duplicates of ``key`` follow it to ``kept_key``.

        The kept entry gains the duplicate's categories (rows marked ``duplicate``).
        The duplicate's band keys are dropped: a new arrival like it finds the kept
        entry, and a story republished a thousand times is one candidate, not a
        thousand (its signature and work keys stay, for ``dupes explain``).
        Call inside :meth:`transaction`.
        """
        drop_band_keys(self.db.conn, "entry_key = ?", [key])
        moved = self.db.conn.execute(
            "UPDATE duplicates SET kept_key = ? WHERE kept_key = ?", [kept_key, key]
        ).rowcount
        previous = self.db.execute(
            "SELECT kept_key FROM duplicates WHERE entry_key = ?", [key]
        ).fetchone()
        self.db.execute(
            "INSERT INTO duplicates (entry_key, kept_key, reason, similarity, linked_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (entry_key) DO UPDATE SET"
            " kept_key = excluded.kept_key, reason = excluded.reason,"
            " similarity = excluded.similarity, linked_at = excluded.linked_at",
            [key, kept_key, reason, similarity, stamp(now)],
        )
        self.db.execute(
            "DELETE FROM entry_categories WHERE entry_key = ? AND how = 'duplicate'", [key]
        )
        if moved or previous is not None:
            # Links changed hands: work the kept entries' categories out again.
            if previous is not None and previous[0] != kept_key:
                self.refresh_merged_categories(str(previous[0]))
            self.refresh_merged_categories(kept_key)
        else:
            # The common case, a new duplicate: the kept entry gains its categories,
            # without rereading those of every other duplicate it has.
            self.db.execute(
                "INSERT OR IGNORE INTO entry_categories"
                " SELECT ?, category, source, 'duplicate', first_seen FROM entry_categories"
                " WHERE entry_key = ? AND how != 'duplicate' ORDER BY rowid",
                [kept_key, key],
            )

    def refresh_merged_categories(self, kept_key: str) -> None:
        """Give ``kept_key`` exactly the categories its linked duplicates carry."""
        self.db.execute(
            "DELETE FROM entry_categories WHERE entry_key = ? AND how = 'duplicate'", [kept_key]
        )
        self.db.execute(
            "INSERT OR IGNORE INTO entry_categories"
            " SELECT ?, c.category, c.source, 'duplicate', c.first_seen"
            " FROM duplicates d JOIN entry_categories c ON c.entry_key = d.entry_key"
            " WHERE d.kept_key = ? AND c.how != 'duplicate' ORDER BY c.rowid",
            [kept_key, kept_key],
        )

    def split_duplicate(self, key: str, *, now: datetime) -> str | None:
        """Undo the link of ``key``; remember the pair so no later run links it again.

        Returns the key it was linked to, or ``None`` if it was not a duplicate.
        Call inside :meth:`transaction`.
        """
        row = self.db.execute(
            "SELECT kept_key FROM duplicates WHERE entry_key = ?", [key]
        ).fetchone()
        if row is None:
            return None
        kept_key = str(row[0])
        self.db.execute("DELETE FROM duplicates WHERE entry_key = ?", [key])
        self.db.execute(
            "INSERT OR REPLACE INTO duplicate_splits VALUES (?, ?, ?)",
            [key, kept_key, stamp(now)],
        )
        self.refresh_merged_categories(kept_key)
        return kept_key

    def duplicate_links(self, *, limit: int | None = None) -> list[DuplicateLink]:
        """Every link, newest first."""
        return self._links(
            "ORDER BY d.id DESC" + (" LIMIT ?" if limit else ""), ([limit] if limit else [])
        )

    def duplicate_link(self, ident: str) -> DuplicateLink | None:
        """The link by its number, its duplicate's key, or its duplicate's Atom id."""
        if ident.isdigit():
            found = self._links("WHERE d.id = ?", [int(ident)])
        else:
            found = self._links(
                "WHERE d.entry_key = ? OR e.atom_id = ? OR e.link = ?", [ident, ident, ident]
            )
        return found[0] if found else None

    def _links(self, clause: str, params: list[object]) -> list[DuplicateLink]:
        rows = self.db.execute(
            "SELECT d.id, d.entry_key, d.kept_key, d.reason, d.similarity, d.linked_at,"
            " e.title, k.title FROM duplicates d"
            " JOIN entries e ON e.key = d.entry_key JOIN entries k ON k.key = d.kept_key " + clause,
            params,
        )
        return [DuplicateLink(*row) for row in rows]

    def keys_needing_features(self, scheme: str, *, since: datetime | None) -> list[str]:
        """Entries without features of ``scheme`` (first seen at or after ``since``)."""
        query = (
            "SELECT e.key FROM entries e LEFT JOIN entry_signatures s ON s.entry_key = e.key"
            " WHERE (s.scheme IS NULL OR s.scheme != ?)"
        )
        params: list[object] = [scheme]
        if since is not None:
            query += " AND e.first_seen >= ?"
            params.append(stamp(since))
        return [key for (key,) in self.db.execute(query + " ORDER BY e.first_seen, e.key", params)]

    def count_duplicates(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM duplicates").fetchone()[0])
