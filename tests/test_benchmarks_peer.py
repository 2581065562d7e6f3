"""The benchmark's side by side with lemon24/reader (``benchmarks/peer.py``), at tiny size.

Real served feeds, real fresh processes, real SQLite files; no figure is asserted, only
that the rows are there, say what was compared, and never hide a short count.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import feeds as generator
from benchmarks import peer, run

FEEDS, ENTRIES = 2, 5

needs_reader = pytest.mark.skipif(
    peer.missing() is not None,
    reason=f"the reader side needs the bench extra ({peer.INSTALL}); the test extra includes it",
)


@pytest.fixture(scope="module")
def server() -> Iterator[generator.FeedServer]:
    with generator.FeedServer(FEEDS, ENTRIES) as served:
        yield served


def rows(figures: run.Figures) -> dict[str, run.Figure]:
    return {figure.what.split(": ", 1)[1]: figure for figure in figures}


@needs_reader
def test_side_by_side_runs_both_on_the_same_feeds_and_prints_the_ratio(
    server: generator.FeedServer, tmp_path: Path
) -> None:
    figures = run.Figures()
    run.side_by_side(server, FEEDS, ENTRIES, tmp_path, figures)

    found = rows(figures)
    ours = found["aggregator first run"]
    theirs = next(figure for what, figure in found.items() if what.startswith("reader 3."))
    ratio = found["aggregator / reader"]
    assert all(f.what.startswith(f"same {FEEDS} feeds x {ENTRIES} entries: ") for f in figures)
    assert "aggregator run --no-send" in ours.note and "digests, publish" in ours.note
    assert "update_feeds(workers=2)" in theirs.note and "run after aggregator" in theirs.note
    assert "stored" not in theirs.note  # every served entry was stored
    assert ratio.value.endswith("x") and float(ratio.value[:-1]) > 0
    assert ratio.note.startswith(f"aggregator is {ratio.value} reader's entries/s")
    assert "by CPU time" in ratio.note
    # Fresh databases of their own, where the rows say.
    assert (tmp_path / f"same-{FEEDS}" / "aggregator" / "aggregator.db").exists()
    assert (tmp_path / f"same-{FEEDS}" / "reader" / "reader.sqlite").exists()


@needs_reader
def test_a_peer_that_stores_less_is_reported_not_rated(
    server: generator.FeedServer, tmp_path: Path
) -> None:
    missing_feed = server.url(FEEDS)  # the server answers 404
    job = peer.write_job(tmp_path, [server.url(0), missing_feed])

    result = peer.scenario(str(job))

    assert result["entries"] == ENTRIES
    assert len(result["broken"]) == 1 and result["broken"][0].startswith(missing_feed)
    problem = peer.mismatch(result, 2 * ENTRIES)
    assert problem is not None
    assert problem.startswith(f"reader stored {ENTRIES} of {2 * ENTRIES} entries; 1 feed failed")
    assert peer.mismatch({"entries": 2 * ENTRIES, "broken": []}, 2 * ENTRIES) is None


def test_without_reader_the_row_says_how_to_install_it(
    server: generator.FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "reader", None)  # as if not installed: import fails
    figures = run.Figures()

    run.side_by_side(server, FEEDS, ENTRIES, tmp_path, figures)

    found = rows(figures)
    assert list(found) == ["aggregator first run", "reader"]
    assert found["reader"].value == "not run"
    assert "reader not installed" in found["reader"].note
    assert "pip install -e '.[bench]'" in found["reader"].note


def test_the_peer_scenario_without_reader_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "reader", None)
    job = peer.write_job(tmp_path, ["http://127.0.0.1:9/feeds/0.xml"])

    result = peer.scenario(str(job))

    assert list(result) == ["missing"]
    assert "reader" in result["missing"] and result["missing"].endswith(peer.INSTALL)
