"""Applying plans: each source's delivery written in bulk, and what plans are made from.

``known`` answers, for one document's keys, what the update stage needs to plan it
(rows, this source's last copies, tombstones). ``apply`` writes a batch of plans in one
transaction, each in a savepoint of its own, every kind of row one prepared statement
over the whole plan (``executemany``). Holds no business rules: the plans say what to
write, the near-duplicate stage (passed in as ``link``) decides what to link.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..._update.plan import Applied, Known, Linker, Plan
from ..applying import apply_plans
from .arxiv import ArxivQueries
from .base import json_param
from .documents import DocumentQueries
from .entries import EntryQueries
from .health import HealthQueries
from .published import PublishedQueries
from .retention import RetentionQueries
from .runs import RunQueries


class PlanQueries(
    # In the order Store lists them, so that both resolve methods alike.
    EntryQueries,
    RunQueries,
    HealthQueries,
    ArxivQueries,
    RetentionQueries,
    DocumentQueries,
    PublishedQueries,
):
    def known(self, source: str, keys: Sequence[str]) -> Known:
        """What is stored of ``keys``, as ``source`` delivers them (see ``plan.Known``).

        Inside :meth:`batch` this opens the batch's transaction, so that the plan made
        from it is applied to exactly what was read.
        """
        if self._batch is not None:
            self._batch.begin()
        unique = list(dict.fromkeys(keys))
        wanted = json_param(unique)
        if wanted is None:  # a key SQLite's JSON cannot carry: asked one chunk at a time
            return Known(
                rows=self.get_entries(unique),
                delivered=self.source_hashes(source, unique),
                pruned=self.pruned_hashes(source, unique),
            )
        # One query says which keys are stored, delivered by ``source`` or pruned; only
        # the stored rows are then read in full (none, for a new document). CROSS JOIN:
        # the keys first, then one index seek each (SQLite cannot tell the size of the
        # JSON array, and would scan the source's copies for each key instead).
        stored: list[str] = []
        delivered: dict[str, str] = {}
        pruned: dict[str, str] = {}
        for kind, key, content_hash in self.db.conn.execute(
            "SELECT 'row', e.key, NULL FROM json_each(?1) AS k"
            " CROSS JOIN entries AS e ON e.key = k.value"
            " UNION ALL SELECT 'copy', s.entry_key, s.content_hash FROM json_each(?1) AS k"
            " CROSS JOIN entry_sources AS s ON s.entry_key = k.value AND s.source = ?2"
            " UNION ALL SELECT 'pruned', p.entry_key, p.content_hash FROM json_each(?1) AS k"
            " CROSS JOIN pruned_entries AS p ON p.entry_key = k.value AND p.source = ?2",
            [wanted, source],
        ):
            if kind == "row":
                stored.append(key)
            elif kind == "copy":
                delivered[key] = content_hash
            else:
                pruned[key] = content_hash
        return Known(
            rows=self.get_entries(stored) if stored else {},
            delivered=delivered,
            pruned=pruned,
        )

    def apply(self, plans: Iterable[Plan], *, link: Linker | None = None) -> list[Applied]:
        """Write ``plans`` in order, in one transaction, each in a savepoint of its own.

        The transaction is the open :meth:`batch`'s (committed about every 2 s), else
        one of their own. After a plan's rows, ``link`` (the near-duplicate stage) runs
        on what was written, in the same savepoint; its links settle the counts
        (``Counts.linked``) the source is recorded with. Then the source's visit, its
        fetch state and its document are recorded.

        A plan that fails is undone alone and its error raised; the plans before it
        stay in the batch's transaction (with no batch open, the whole call is undone).
        """
        return apply_plans(self, plans, link)
