"""Duplicate links and what finds them, in PostgreSQL: the twin of ``sqlite/dupes.py``.

The same tables (signatures, both band-key tables, work keys, links, splits) and the
same answers; SQLite's JSON arrays become PostgreSQL arrays and ``jsonb`` unpacked in
the query. The recent band-key table is merged the same way so that both schemas
hold the same rows (``aggregator migrate`` copies table for table).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..._neardup.minhash import MinHasher
from ..._neardup.rules import Candidate, Features, compose_text
from ..bandkeys import band_key_rows
from ..sqlite.base import stamp
from ..sqlite.dupes import BAND_TABLES, RECENT_BANDS, DuplicateLink, StoredFeatures
from .base import PgStoreBase


def drop_band_keys(conn: Any, where: str, params: Sequence[object]) -> None:
    """Delete the band keys of the signatures ``where`` selects, through the tables'
    primary keys (as ``sqlite.dupes.drop_band_keys``)."""
    rows, unknown = band_key_rows(
        conn.execute(
            f"SELECT id, scheme, signature FROM entry_signatures WHERE {where}", params
        ).fetchall()
    )
    for table in BAND_TABLES:
        if rows:
            conn.execute(
                f"DELETE FROM {table} AS t USING unnest(%s::bigint[], %s::bigint[])"
                " AS k(band, sig_id) WHERE t.band = k.band AND t.sig_id = k.sig_id",
                [[band for band, _ in rows], [sig_id for _, sig_id in rows]],
            )
        if unknown:  # none since migration 23; a scan of the table
            conn.execute(f"DELETE FROM {table} WHERE sig_id = ANY(%s::bigint[])", [unknown])


class PgDuplicateQueries(PgStoreBase):
    _recent_bands: int | None = None

    def _recent_bands_added(self, count: int) -> None:
        if self._recent_bands is None:
            row = self._execute("SELECT count(*) FROM lsh_bands_recent").fetchone()
            self._recent_bands = int(row[0])
        else:
            self._recent_bands += count
        if self._recent_bands >= RECENT_BANDS:
            self.merge_recent_bands()

    def merge_recent_bands(self) -> None:
        """Move the recent band keys into ``lsh_bands``. In a transaction."""
        self._execute(
            "INSERT INTO lsh_bands SELECT band, sig_id FROM lsh_bands_recent"
            " ORDER BY band, sig_id ON CONFLICT DO NOTHING"
        )
        self._execute("DELETE FROM lsh_bands_recent")
        self._recent_bands = 0

    def save_features(self, features: Features, *, scheme: str, new: bool = False) -> None:
        """Store (or replace) an entry's signature, band keys and work keys."""
        data = MinHasher.to_bytes(features.signature) if features.signature is not None else None
        if not new:  # the keys of the signature being replaced
            drop_band_keys(self.conn, "entry_key = %s", [features.key])
        row = self._execute(
            "INSERT INTO entry_signatures (entry_key, scheme, signature, shingles, seen)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (entry_key) DO UPDATE SET"
            " scheme = excluded.scheme, signature = excluded.signature,"
            " shingles = excluded.shingles, seen = excluded.seen RETURNING id",
            [features.key, scheme, data, features.shingle_count, stamp(features.when)],
        ).fetchone()
        sig_id = int(row[0])
        linked = None
        if not new:
            linked = self._execute(
                "SELECT 1 FROM duplicates WHERE entry_key = %s", [features.key]
            ).fetchone()
            self._execute("DELETE FROM entry_work_keys WHERE entry_key = %s", [features.key])
        if not linked:
            self._execute(
                "INSERT INTO lsh_bands_recent SELECT b, %s FROM unnest(%s::bigint[]) AS b"
                " ON CONFLICT DO NOTHING",
                [sig_id, list(features.bands)],
            )
            self._recent_bands_added(len(features.bands))
        self._execute(
            "INSERT INTO entry_work_keys SELECT w, %s FROM unnest(%s::text[]) AS w"
            " ON CONFLICT DO NOTHING",
            [features.key, list(features.work_keys)],
        )

    def save_new_features(self, found: Sequence[Features], *, scheme: str) -> None:
        """Store the features of entries stored just now, in this transaction, in order."""
        self._many(
            "INSERT INTO entry_signatures (entry_key, scheme, signature, shingles, seen)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (entry_key) DO UPDATE SET"
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
        self._many(
            "INSERT INTO lsh_bands_recent SELECT b, s.id FROM entry_signatures s,"
            " unnest(%s::bigint[]) AS b WHERE s.entry_key = %s ON CONFLICT DO NOTHING",
            [(list(f.bands), f.key) for f in found if f.bands],
        )
        self._recent_bands_added(sum(len(f.bands) for f in found))
        self._many(
            "INSERT INTO entry_work_keys VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [(work, f.key) for f in found for work in f.work_keys],
        )

    def candidates(self, features: Features, *, scheme: str) -> list[Candidate]:
        """Stored entries sharing a band key or a work key with ``features``."""
        return self.candidates_of([features], scheme=scheme)[features.key]

    def candidates_of(
        self, found: Sequence[Features], *, scheme: str
    ) -> dict[str, list[Candidate]]:
        """:meth:`candidates` of each of ``found``, by key, looked up all at once."""
        owners: dict[int, set[int]] = {}
        bands = json.dumps([list(f.bands) for f in found])
        works = json.dumps([list(f.work_keys) for f in found], ensure_ascii=False)
        for table in BAND_TABLES:
            for index, sig_id in self._execute(
                "SELECT f.i - 1, b.sig_id"
                " FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS f(v, i),"
                " jsonb_array_elements_text(f.v) AS k(band)"
                f" JOIN {table} AS b ON b.band = k.band::bigint",
                [bands],
            ):
                owners.setdefault(int(index), set()).add(int(sig_id))
        for index, sig_id in self._execute(
            "SELECT f.i - 1, s.id"
            " FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS f(v, i),"
            " jsonb_array_elements_text(f.v) AS k(work)"
            " JOIN entry_work_keys AS w ON w.work_key = k.work"
            " JOIN entry_signatures AS s ON s.entry_key = w.entry_key",
            [works],
        ):
            owners.setdefault(int(index), set()).add(int(sig_id))
        rows = self._candidates_by_id(sorted(set().union(*owners.values())), scheme)
        answers: dict[str, list[Candidate]] = {}
        for index, f in enumerate(found):
            ids = owners.get(index, set())
            answers[f.key] = [rows[i] for i in sorted(ids) if i in rows and rows[i].key != f.key]
        return answers

    def _candidates_by_id(self, ids: list[int], scheme: str) -> dict[int, Candidate]:
        if not ids:
            return {}
        found = self._execute(
            "SELECT s.id, s.entry_key, s.scheme, s.signature, s.seen, d.kept_key"
            " FROM entry_signatures s LEFT JOIN duplicates d ON d.entry_key = s.entry_key"
            " WHERE s.id = ANY(%s::bigint[])",
            [ids],
        ).fetchall()
        work: dict[str, list[str]] = {}
        for key, value in self._execute(
            "SELECT entry_key, work_key FROM entry_work_keys WHERE entry_key = ANY(%s::text[])"
            " ORDER BY entry_key, work_key",
            [[row[1] for row in found]],
        ):
            work.setdefault(key, []).append(value)
        return {
            int(sig_id): Candidate(
                key=key,
                when=datetime.fromisoformat(seen),
                signature=(
                    MinHasher.from_bytes(bytes(signature))
                    if signature is not None and row_scheme == scheme
                    else None
                ),
                work_keys=tuple(work.get(key, ())),
                kept_key=kept_key,
            )
            for sig_id, key, row_scheme, signature, seen, kept_key in found
        }

    def stored_features(self, keys: Sequence[str]) -> dict[str, StoredFeatures]:
        work: dict[str, list[str]] = {}
        wanted = list(keys)
        for key, value in self._execute(
            "SELECT entry_key, work_key FROM entry_work_keys WHERE entry_key = ANY(%s::text[])"
            " ORDER BY entry_key, work_key",
            [wanted],
        ):
            work.setdefault(key, []).append(value)
        found: dict[str, StoredFeatures] = {}
        for key, scheme, signature, shingles, seen in self._execute(
            "SELECT entry_key, scheme, signature, shingles, seen FROM entry_signatures"
            " WHERE entry_key = ANY(%s::text[])",
            [wanted],
        ):
            found[key] = StoredFeatures(
                scheme,
                None if signature is None else bytes(signature),
                int(shingles),
                seen,
                tuple(work.get(key, ())),
            )
        return found

    def entry_texts(self, keys: Sequence[str]) -> dict[str, str]:
        """``neardup.entry_text`` of stored entries, read from their text columns alone."""
        texts: dict[str, str] = {}
        for key, title, content, summary, sections in self._execute(
            "SELECT key, title, content, summary, sections FROM entries"
            " WHERE key = ANY(%s::text[])",
            [list(keys)],
        ):
            pairs = [(str(h), str(t)) for h, t in json.loads(sections)]
            texts[key] = compose_text(title, content, summary, pairs)
        return texts

    def kept_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """For each of ``keys`` that is a linked duplicate, the key kept in its place."""
        rows = self._execute(
            "SELECT entry_key, kept_key FROM duplicates WHERE entry_key = ANY(%s::text[])",
            [list(dict.fromkeys(keys))],
        )
        return dict(rows.fetchall())

    def split_partners(self, key: str) -> frozenset[str]:
        """Keys a user split from ``key``: they are never merged with it again."""
        rows = self._execute(
            "SELECT other_key FROM duplicate_splits WHERE entry_key = %s"
            " UNION SELECT entry_key FROM duplicate_splits WHERE other_key = %s",
            [key, key],
        )
        return frozenset(value for (value,) in rows)

    def entry_source_names(self, key: str) -> list[str]:
        """The sources that delivered ``key`` itself, first first."""
        rows = self._execute(
            "SELECT source FROM entry_sources WHERE entry_key = %s ORDER BY seq", [key]
        )
        return [name for (name,) in rows]

    def link_duplicate(
        self, key: str, *, kept_key: str, reason: str, similarity: float | None, now: datetime
    ) -> None:
        """Link ``key`` to ``kept_key``; duplicates of ``key`` follow it to ``kept_key``
        (see the SQLite store's). Call inside :meth:`transaction`."""
        drop_band_keys(self.conn, "entry_key = %s", [key])
        moved = self._execute(
            "UPDATE duplicates SET kept_key = %s WHERE kept_key = %s", [kept_key, key]
        ).rowcount
        previous = self._execute(
            "SELECT kept_key FROM duplicates WHERE entry_key = %s", [key]
        ).fetchone()
        self._execute(
            "INSERT INTO duplicates (entry_key, kept_key, reason, similarity, linked_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (entry_key) DO UPDATE SET"
            " kept_key = excluded.kept_key, reason = excluded.reason,"
            " similarity = excluded.similarity, linked_at = excluded.linked_at",
            [key, kept_key, reason, similarity, stamp(now)],
        )
        self._execute(
            "DELETE FROM entry_categories WHERE entry_key = %s AND how = 'duplicate'", [key]
        )
        if moved or previous is not None:
            if previous is not None and previous[0] != kept_key:
                self.refresh_merged_categories(str(previous[0]))
            self.refresh_merged_categories(kept_key)
        else:
            self._execute(
                "INSERT INTO entry_categories (entry_key, category, source, how, first_seen)"
                " SELECT %s, category, source, 'duplicate', first_seen FROM entry_categories"
                " WHERE entry_key = %s AND how != 'duplicate' ORDER BY seq"
                " ON CONFLICT DO NOTHING",
                [kept_key, key],
            )

    def refresh_merged_categories(self, kept_key: str) -> None:
        """Give ``kept_key`` exactly the categories its linked duplicates carry."""
        self._execute(
            "DELETE FROM entry_categories WHERE entry_key = %s AND how = 'duplicate'", [kept_key]
        )
        self._execute(
            "INSERT INTO entry_categories (entry_key, category, source, how, first_seen)"
            " SELECT %s, c.category, c.source, 'duplicate', c.first_seen"
            " FROM duplicates d JOIN entry_categories c ON c.entry_key = d.entry_key"
            " WHERE d.kept_key = %s AND c.how != 'duplicate' ORDER BY c.seq"
            " ON CONFLICT DO NOTHING",
            [kept_key, kept_key],
        )

    def split_duplicate(self, key: str, *, now: datetime) -> str | None:
        """Undo the link of ``key``; remember the pair so no later run links it again."""
        row = self._execute(
            "DELETE FROM duplicates WHERE entry_key = %s RETURNING kept_key", [key]
        ).fetchone()
        if row is None:
            return None
        kept_key = str(row[0])
        self._execute(
            "INSERT INTO duplicate_splits VALUES (%s, %s, %s)"
            " ON CONFLICT (entry_key, other_key) DO UPDATE SET split_at = excluded.split_at",
            [key, kept_key, stamp(now)],
        )
        self.refresh_merged_categories(kept_key)
        return kept_key

    def duplicate_links(self, *, limit: int | None = None) -> list[DuplicateLink]:
        """Every link, newest first."""
        return self._links(
            "ORDER BY d.id DESC" + (" LIMIT %s" if limit else ""), ([limit] if limit else [])
        )

    def duplicate_link(self, ident: str) -> DuplicateLink | None:
        """The link by its number, its duplicate's key, or its duplicate's Atom id."""
        if ident.isdigit():
            found = self._links("WHERE d.id = %s", [int(ident)])
        else:
            found = self._links(
                "WHERE d.entry_key = %s OR e.atom_id = %s OR e.link = %s", [ident, ident, ident]
            )
        return found[0] if found else None

    def _links(self, clause: str, params: list[object]) -> list[DuplicateLink]:
        rows = self._execute(
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
            " WHERE (s.scheme IS NULL OR s.scheme != %s)"
        )
        params: list[object] = [scheme]
        if since is not None:
            query += " AND e.first_seen >= %s"
            params.append(stamp(since))
        return [key for (key,) in self._execute(query + " ORDER BY e.first_seen, e.key", params)]

    def count_duplicates(self) -> int:
        return int(self._execute("SELECT count(*) FROM duplicates").fetchone()[0])
