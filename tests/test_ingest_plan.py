"""Ingest as a pure plan applied in bulk: the plan, Store.apply, the run around them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DATA
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator._storage.sqlite import Store
from aggregator._update.decide import Outcome
from aggregator._update.normalize import normalize
from aggregator._update.plan import (
    Counts,
    Document,
    Known,
    Link,
    Plan,
    plan_document,
    plan_visit,
)
from aggregator.config.settings import DedupSettings, load_config
from aggregator.config.sources import Source
from aggregator.core import run
from aggregator.types import Entry, ParsedEntry

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
TODAY = date(2026, 11, 23)
SOURCE = Source(name="s", kind="feed", url="https://example.org/feed", categories=("cat",))
DEDUP = DedupSettings()


def entries(*titles: str) -> tuple[Entry, ...]:
    return tuple(
        normalize(ParsedEntry(title=t, link=f"https://example.org/{t}"), source="s", position=i)
        for i, t in enumerate(titles, start=1)
    )


def document(items: tuple[Entry, ...], **changes: object) -> Document:
    made = Document(SOURCE, items, NOW, listed=len(items), fingerprint="f")
    return replace(made, **changes)  # type: ignore[arg-type]


# -- the plan is a pure function of the document and what storage knows ------------------


def test_a_plan_says_every_write_and_count_without_touching_storage() -> None:
    items = entries("a", "b", "a")  # "a" twice: the second copy is a duplicate
    plan = plan_document(document(items), Known(), today=TODAY, dedup=DEDUP)
    assert plan.counts == Counts(new=2, duplicate=1)
    assert plan.new_keys == ("url:https://example.org/a", "url:https://example.org/b")
    assert plan.updates == ()  # the second copy adds nothing to the row
    assert {(f.key, f.category, f.how) for f in plan.filings} == {
        ("url:https://example.org/a", "cat", "listed"),
        ("url:https://example.org/b", "cat", "listed"),
    }
    assert plan.digest_days == (TODAY,)
    assert [(p.row.key, p.new, p.match) for p in plan.probes] == [
        ("url:https://example.org/a", True, True),
        ("url:https://example.org/b", True, True),
    ]
    assert plan.record is not None and plan.record.error is None
    assert plan.document is not None and plan.document.fingerprint == "f"
    # The same inputs make the same plan: nothing else is read.
    assert plan_document(document(items), Known(), today=TODAY, dedup=DEDUP) == plan


def test_what_storage_knows_decides_the_outcomes() -> None:
    items = entries("a", "b", "c")
    first = plan_document(document(items), Known(), today=TODAY, dedup=DEDUP)
    rows = {row.key: row for row in first.inserts}
    delivered = {copy.key: copy.content_hash for copy in first.copies}
    changed = entries("a", "b2", "c")
    changed = (changed[0], replace(changed[1], key=items[1].key), changed[2])
    known = Known(rows=rows, delivered=delivered, pruned={items[2].key: items[2].content_hash})
    plan = plan_document(document(changed), known, today=date(2026, 11, 24), dedup=DEDUP)
    # a: the same again; b: changed; c: pruned and still listed unchanged, stays pruned.
    assert plan.counts == Counts(updated=1, unchanged=2)
    assert plan.inserts == () and [row.key for row in plan.updates] == [items[1].key]
    assert plan.digest_days == (date(2026, 11, 24),)  # an update shows on the run's day
    assert [(p.row.key, p.new, p.match) for p in plan.probes] == [(items[1].key, False, False)]


def test_linking_is_the_one_step_that_turns_a_new_entry_into_a_duplicate() -> None:
    counts = Counts(new=3, unchanged=1)
    links = (
        Link("new-1", "stored", "near", 0.9),
        Link("stored-2", "new-2", "doi", None, newcomer_kept=True),
    )
    assert counts.linked(links) == Counts(new=2, unchanged=1, duplicate=1)
    assert counts.linked(links).as_dict() == {
        "new": 2,
        "updated": 0,
        "unchanged": 1,
        "duplicate": 1,
    }
    assert list(counts.as_dict()) == [o.value for o in Outcome]


# -- storage applies a batch of plans ------------------------------------------------------


def test_a_batch_of_plans_is_one_transaction_and_a_failing_plan_is_undone_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    with Store(path) as store:
        good = plan_document(document(entries("a", "b")), Known(), today=TODAY, dedup=DEDUP)
        other = replace(
            plan_document(document(entries("c")), Known(), today=TODAY, dedup=DEDUP),
            source="t",
        )
        done = store.apply([good, other])
        assert [d.counts for d in done] == [Counts(new=2), Counts(new=1)]
        assert store.count_entries() == 3

        def broken(plan: Plan) -> list[Link]:
            if plan.source == "t":
                raise RuntimeError("a bug in linking")
            return []

        later = plan_document(document(entries("d")), Known(), today=TODAY, dedup=DEDUP)
        failing = replace(
            plan_document(document(entries("e")), Known(), today=TODAY, dedup=DEDUP), source="t"
        )
        with store.batch():
            store.apply([later], link=broken)
            with pytest.raises(RuntimeError):
                store.apply([failing], link=broken)
            # Nothing of the failing plan, and the batch goes on.
            assert store.get_entries(["url:https://example.org/e"]) == {}
            store.apply([plan_visit(SOURCE, now=NOW, error="it failed")])
        assert store.count_entries() == 4
        [health] = store.source_health()
        assert health.last_error == "it failed" and health.consecutive_failures == 1


def test_the_plan_of_a_visit_records_the_source_and_its_fetch_state_only(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "a.db") as store:
        before = store.output_generation()
        [done] = store.apply([plan_visit(SOURCE, now=NOW, unchanged=7)])
        assert done.counts == Counts(unchanged=7)
        assert store.output_generation() == before  # no entry, filing or link moved
        assert [h.name for h in store.source_health()] == ["s"]


# -- the run around them --------------------------------------------------------------------


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_every_new_row_is_reported_once_by_key_in_store_order(
    tmp_path: Path, write_config: Callable[[str], Path]
) -> None:
    config = write_config(
        '[storage]\ndatabase = "db.sqlite"\n'
        '[[sources]]\nname = "lab"\nkind = "feed"\npath = "{seeds}/lab-reading-list.rss"\n'
        "entry_categories = true\n"
        '[[sources]]\nname = "ntt"\nkind = "feed"\npath = "{seeds}/ntt-rd-news.atom"\n'
        "entry_categories = true\n"
    )
    settings = load_config(config)
    summary = run(settings, clock=lambda: NOW)
    keys = [key for report in summary.sources for key in report.new_keys]
    with sqlite3.connect(settings.storage.database) as conn:
        stored = [key for (key,) in conn.execute("SELECT key FROM entries ORDER BY rowid")]
    assert keys == stored and len(set(keys)) == len(keys)
    for report in summary.sources:
        assert len(report.new_keys) >= report.counts["new"]
    again = run(settings, clock=lambda: NOW)
    assert [report.new_keys for report in again.sources] == [[], []]


def test_no_export_api_call_is_made_while_a_write_transaction_is_open(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    """The arXiv catch-up asks the export API (paged, 3 s apart) outside any write
    transaction: while it waits, another connection can take the write lock."""
    config = write_config(
        f"""
[storage]
database = "db.sqlite"
[arxiv]
base_url = "{httpserver.url_for("/")}"
api_url = "{httpserver.url_for("/api/query")}"
api_delay = 0
holidays = ["2026-01-19"]
[[sources]]
name = "arxiv-ai"
kind = "arxiv"
categories = ["cs.AI"]
[[sources]]
name = "arxiv-lg"
kind = "arxiv"
categories = ["cs.LG"]
"""
    )
    settings = load_config(config)
    locked: list[bool] = []

    def api(request: Request) -> Response:
        probe = sqlite3.connect(settings.storage.database, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            locked.append(False)
        except sqlite3.OperationalError:  # "database is locked"
            locked.append(True)
        finally:
            probe.close()
        data = (DATA / "arxiv" / "api-catch-up.xml").read_bytes()
        return Response(data, content_type="application/atom+xml")

    def serve(**feeds: str) -> None:
        httpserver.clear()
        for category, name in feeds.items():
            httpserver.expect_request(f"/rss/{category}").respond_with_data(
                (DATA / "arxiv" / name).read_bytes(), content_type="application/rss+xml"
            )
        httpserver.expect_request("/api/query").respond_with_handler(api)

    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 1, day, hour, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)

    serve(**{"cs.AI": "rss-cs.AI-2026-01-14.xml", "cs.LG": "rss-cs.LG-2026-01-14.xml"})
    run(settings, clock=lambda: at(14, 7))
    # A week later both feeds moved on: the days in between are caught up.
    serve(**{"cs.AI": "rss-cs.AI-2026-01-21.xml", "cs.LG": "rss-cs.LG-2026-01-15.xml"})
    summary = run(settings, clock=lambda: at(21, 22))
    assert summary.failed == []
    assert "caught up from the export API" in str(summary.sources[0].note)
    assert locked and not any(locked), f"the database was write-locked: {locked}"
