"""Ranking, secrets, unsubscribes and summaries on PostgreSQL: the twins of
``sqlite/ranking.py``, ``sqlite/subscribers.py`` and ``sqlite/summaries.py``, with the
same tables (migrations 16, 17, 19) and the same answers. Decides nothing itself.
"""

from __future__ import annotations

import json
import secrets as secrets_module
from collections.abc import Iterable, Sequence
from datetime import datetime

from ...types import Summary
from ..sqlite.base import stamp
from ..sqlite.subscribers import Unsubscribe
from ..sqlite.summaries import _FIELDS
from .base import PgStoreBase


class PgExtraQueries(PgStoreBase):
    # -- ranking (sqlite/ranking.py)

    def liked_keys(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored entry each (kind, value) reference names, for those found."""
        found: dict[tuple[str, str], str] = {}
        wanted = {f"{kind}:{value}": (kind, value) for kind, value in refs}
        rows = self._execute("SELECT key FROM entries WHERE key = ANY(%s::text[])", [list(wanted)])
        for (key,) in rows:
            found[wanted[key]] = key
        dois = [v for k, v in refs if k == "doi" and (k, v) not in found]
        if dois:
            rows = self._execute(
                "SELECT lower(doi), min(key) FROM entries WHERE lower(doi) = ANY(%s::text[])"
                " GROUP BY lower(doi)",
                [dois],
            )
            found.update({("doi", doi): key for doi, key in rows})
        urls = [v for k, v in refs if k == "url" and (k, v) not in found]
        if urls:
            rows = self._execute(
                "SELECT link, min(key) FROM entries WHERE link = ANY(%s::text[]) GROUP BY link",
                [urls],
            )
            found.update({("url", link): key for link, key in rows})
        return found

    def ranking_texts(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(title, summary as stored) of each of ``keys`` that is stored."""
        rows = self._execute(
            "SELECT key, title, coalesce(summary, '') FROM entries WHERE key = ANY(%s::text[])",
            [list(dict.fromkeys(keys))],
        )
        return {key: (title, summary) for key, title, summary in rows}

    def ranking_sample(self, limit: int) -> dict[str, tuple[str, str]]:
        """Up to ``limit`` stored entries' (title, summary), those whose content hash
        sorts first."""
        rows = self._execute(
            "SELECT key, title, coalesce(summary, '') FROM entries"
            " ORDER BY content_hash, key LIMIT %s",
            [limit],
        )
        return {key: (title, summary) for key, title, summary in rows}

    def entry_scores(
        self, keys: Sequence[str], *, profile: str, model: str
    ) -> dict[str, tuple[float, str | None]]:
        """The cached (score, nearest liked entry) of those of ``keys`` that have one."""
        rows = self._execute(
            "SELECT entry_key, score, nearest FROM entry_scores"
            " WHERE profile = %s AND model = %s AND entry_key = ANY(%s::text[])",
            [profile, model, list(dict.fromkeys(keys))],
        )
        return {key: (float(score), nearest) for key, score, nearest in rows}

    def save_entry_scores(
        self, rows: Iterable[tuple[str, str, float, str | None]], *, model: str
    ) -> None:
        """Cache (profile, entry key, score, nearest liked entry) rows of ``model``."""
        values = [(key, profile, model, score, near) for profile, key, score, near in rows]
        if not values:
            return
        with self.transaction():
            self._many(
                "INSERT INTO entry_scores VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (profile, model, entry_key) DO UPDATE"
                " SET score = excluded.score, nearest = excluded.nearest",
                values,
            )

    def secret(self, name: str) -> str:
        """The installation's secret ``name``: generated (256 random bits) on first use."""
        with self.transaction():
            self._execute(
                "INSERT INTO secrets VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                [name, secrets_module.token_hex(32)],
            )
        row = self._execute("SELECT value FROM secrets WHERE name = %s", [name]).fetchone()
        return str(row[0])

    # -- unsubscribes (sqlite/subscribers.py)

    def unsubscribes(self) -> dict[str, Unsubscribe]:
        """Every recorded unsubscribe, by address (lower case)."""
        rows = self._execute(
            "SELECT address, unsubscribed_at, via, detail FROM unsubscribes ORDER BY address"
        ).fetchall()
        return {
            str(a): Unsubscribe(str(a), str(at), str(via), None if d is None else str(d))
            for a, at, via, d in rows
        }

    def record_unsubscribe(
        self, address: str, *, via: str, now: datetime, detail: str | None = None
    ) -> bool:
        """Record that ``address`` unsubscribed; False when it already had."""
        with self.transaction():
            cursor = self._execute(
                "INSERT INTO unsubscribes (address, unsubscribed_at, via, detail)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (address) DO NOTHING",
                [address.lower(), stamp(now), via, detail],
            )
            return bool(cursor.rowcount > 0)

    def forget_unsubscribe(self, address: str) -> bool:
        """Let ``address`` receive the digest again; False when it had not unsubscribed."""
        with self.transaction():
            cursor = self._execute("DELETE FROM unsubscribes WHERE address = %s", [address.lower()])
            return bool(cursor.rowcount > 0)

    # -- summaries (sqlite/summaries.py)

    def summaries_of(self, hashes: Sequence[str], *, variant: str) -> dict[str, Summary]:
        """The cached summaries of those of ``hashes`` written by ``variant``."""
        found: dict[str, Summary] = {}
        rows = self._execute(
            "SELECT content_hash, data FROM summaries WHERE variant = %s"
            " AND content_hash = ANY(%s::text[])",
            [variant, list(hashes)],
        )
        for digest, data in rows:
            values = json.loads(data)
            found[digest] = Summary(**{k: values.get(k) for k in _FIELDS if k in values})
        return found

    def save_summaries(
        self, rows: Iterable[tuple[str, Summary]], *, variant: str, now: datetime
    ) -> None:
        """Cache ``(content hash, summary)`` pairs written by ``variant``."""
        created = stamp(now)
        values = [
            (
                digest,
                variant,
                json.dumps({k: getattr(s, k) for k in _FIELDS}, ensure_ascii=False),
                created,
            )
            for digest, s in rows
        ]
        if not values:
            return
        with self.transaction():
            self._many(
                "INSERT INTO summaries (content_hash, variant, data, created)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (content_hash, variant)"
                " DO UPDATE SET data = excluded.data, created = excluded.created",
                values,
            )

    def count_summaries(self) -> int:
        return int(self._execute("SELECT count(*) FROM summaries").fetchone()[0])
