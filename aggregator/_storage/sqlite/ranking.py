"""What ranking reads and keeps: liked papers looked up, texts to learn from, scores.

Owns the queries of the ranking stage: finding stored entries by arXiv ID, DOI or link;
a deterministic sample of stored entries' titles and abstracts (the negatives a model
learns against); the ``entry_scores`` cache per entry, profile and model; and the
installation's generated secrets. Decides nothing itself.
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Iterable, Sequence

from .base import StoreBase, chunks


class RankingQueries(StoreBase):
    def liked_keys(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored entry each (kind, value) reference names, for those found.

        ``arxiv``: the paper's ID without version; ``doi``: a DOI in lower case (an
        entry keyed by it, or carrying it); ``url``: a canonical URL (an entry keyed by
        it, or linking to it).
        """
        found: dict[tuple[str, str], str] = {}
        wanted_keys = {f"{kind}:{value}": (kind, value) for kind, value in refs}
        for chunk in chunks(list(wanted_keys)):
            marks = ",".join("?" * len(chunk))
            for (key,) in self.db.execute(
                f"SELECT key FROM entries WHERE key IN ({marks})", chunk
            ).fetchall():
                found[wanted_keys[key]] = key
        dois = [value for kind, value in refs if kind == "doi" and (kind, value) not in found]
        for chunk in chunks(dois):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT lower(doi), min(key) FROM entries WHERE lower(doi) IN ({marks})"
                " GROUP BY lower(doi)",
                chunk,
            ).fetchall()
            found.update({("doi", doi): key for doi, key in rows})
        urls = [value for kind, value in refs if kind == "url" and (kind, value) not in found]
        for chunk in chunks(urls):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT link, min(key) FROM entries WHERE link IN ({marks}) GROUP BY link",
                chunk,
            ).fetchall()
            found.update({("url", link): key for link, key in rows})
        return found

    def ranking_texts(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(title, summary as stored) of each of ``keys`` that is stored."""
        found: dict[str, tuple[str, str]] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT key, title, coalesce(summary, '') FROM entries WHERE key IN ({marks})",
                chunk,
            )
            found.update({key: (title, summary) for key, title, summary in rows})
        return found

    def ranking_sample(self, limit: int) -> dict[str, tuple[str, str]]:
        """Up to ``limit`` stored entries' (title, summary), the same ones for the same
        database: those whose content hash sorts first (a hash: a fair sample)."""
        rows = self.db.execute(
            "SELECT key, title, coalesce(summary, '') FROM entries"
            " ORDER BY content_hash, key LIMIT ?",
            (limit,),
        )
        return {key: (title, summary) for key, title, summary in rows}

    def entry_scores(
        self, keys: Sequence[str], *, profile: str, model: str
    ) -> dict[str, tuple[float, str | None]]:
        """The cached (score, nearest liked entry) of those of ``keys`` that have one."""
        found: dict[str, tuple[float, str | None]] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT entry_key, score, nearest FROM entry_scores"
                f" WHERE profile = ? AND model = ? AND entry_key IN ({marks})",
                [profile, model, *chunk],
            )
            found.update({key: (float(score), nearest) for key, score, nearest in rows})
        return found

    def save_entry_scores(
        self, rows: Iterable[tuple[str, str, float, str | None]], *, model: str
    ) -> None:
        """Cache (profile, entry key, score, nearest liked entry) rows of ``model``, in
        one transaction."""
        values = [(key, profile, model, score, near) for profile, key, score, near in rows]
        if not values:
            return
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO entry_scores VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (profile, model, entry_key) DO UPDATE"
                " SET score = excluded.score, nearest = excluded.nearest",
                values,
            )

    def secret(self, name: str) -> str:
        """The installation's secret ``name``: generated (256 random bits) on first use."""
        row = self.db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return str(row[0])
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO secrets VALUES (?, ?)",
                (name, secrets_module.token_hex(32)),
            )
        row = self.db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        return str(row[0])
