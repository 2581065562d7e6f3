"""Applying plans: the order of writes every backend follows, written once.

Each plan in a savepoint of its own, inside the batch's transaction (or one of its
own): the entries, the arXiv rows, the digest days made due, then the near-duplicate
links made on what was written (their counts settle the source's visit), the
source's visit, its fetch state and its document. The stores write each part in
their own SQL; this module decides only the order. No I/O of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from .._update.plan import Applied, Linker, Plan


class PlanWriter(Protocol):
    """What :func:`apply_plans` needs of a store."""

    @property
    def _batch(self) -> object | None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def _write_entries(self, plan: Plan) -> None: ...

    def _write_arxiv(self, plan: Plan) -> None: ...

    # The writes whose signatures the stores share (read-only: bound methods).
    @property
    def mark_digests_due(self) -> Callable[..., None]: ...

    @property
    def record_source(self) -> Callable[..., Any]: ...

    @property
    def save_fetch_state(self) -> Callable[..., None]: ...

    @property
    def remember_document(self) -> Callable[..., None]: ...


def apply_plans(store: PlanWriter, plans: Iterable[Plan], link: Linker | None) -> list[Applied]:
    """Write ``plans`` in order (see the module docstring); a plan that fails is undone
    alone and its error raised."""
    applied: list[Applied] = []
    with nullcontext() if store._batch is not None else store.transaction():
        for plan in plans:
            with store.transaction():
                applied.append(_apply_plan(store, plan, link))
    return applied


def _apply_plan(store: PlanWriter, plan: Plan, link: Linker | None) -> Applied:
    store._write_entries(plan)
    store._write_arxiv(plan)
    if plan.digest_days:
        # With the entries: a run that fails before writing these digests leaves them due.
        store.mark_digests_due(plan.digest_days, now=plan.now)
    links = tuple(link(plan)) if link is not None and (plan.probes or plan.refiled) else ()
    counts = plan.counts.linked(links)
    if plan.record is not None:
        record = plan.record
        store.record_source(
            name=record.name,
            kind=record.kind,
            location=record.location,
            now=plan.now,
            error=record.error,
            new_entries=counts.new,
        )
    if plan.fetch_state is not None:
        # With the entries: a parse failure keeps the old validators, so the next
        # run downloads the document again instead of getting a 304.
        store.save_fetch_state(plan.fetch_state)
    if plan.document is not None:
        document = plan.document
        store.remember_document(
            plan.source,
            document.fingerprint,
            entries=document.entries,
            now=plan.now,
            batch_day=document.batch_day,
            batch_items=document.batch_items,
        )
    return Applied(plan, links, counts)
