"""Fetching and reading spread over ``aggregator worker`` processes: a job queue.

Owns how a run hands its sources to a procrastinate job queue in the PostgreSQL
database of ``[storage] url``, and how it gets their documents back: ``coordinate``
is the run's side (one job per due source, waiting for their outcomes, stalled jobs
put back), ``jobs`` the worker's (fetch with per-host turns shared by every worker,
read, keep the outcome), ``outcome`` what travels between them. Plans, applies,
publishes and mails nothing: the run goes on exactly as without a queue, in config
order, whichever worker finished first. SQL is ``aggregator/_storage/postgres/queue.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from ..._fetch.health import FetchState
from ..._fetch.http import Attempt
from ...config.sources import Source
from ..reading import Started


class Queued(Protocol):
    """Fetching and reading done by a job queue's workers (see :mod:`.queue`)."""

    def attempts(
        self,
        sources: list[Source],
        *,
        states: dict[str, FetchState],
        failures: dict[str, int],
        not_due: dict[str, str],
        idle: Callable[[], None],
    ) -> Iterator[Attempt]:
        """One Attempt per source, in ``sources`` order, as :func:`fetch_in_order`'s;
        ``idle`` before waiting for one (the run commits: no transaction stays open
        while workers fetch)."""
        ...

    def started(self, attempt: Attempt) -> Started | None:
        """What the worker read of the attempt's document (None: nothing, or read here)."""
        ...

    def lost(self, name: str) -> bool:
        """Whether the source's job did not come back in time (an error of this run)."""
        ...
