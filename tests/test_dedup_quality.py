"""Quality of the duplicate decision on the labelled evaluation set (tests/data/dedup/).

Asserts precision and recall, never speed (benchmarks/dedup.py prints times).
"""

from __future__ import annotations

from datetime import timedelta

from dedupeval import evaluate, load_pairs

from aggregator._neardup.minhash import MinHasher, Scheme
from aggregator._neardup.rules import Rules
from aggregator.config.settings import DedupSettings


def test_the_evaluation_set_is_large_and_varied() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 200
    assert {p["lang"] for p in pairs} == {"en", "zh", "ja"}
    kinds = {(p["kind"], p["duplicate"]) for p in pairs}
    for kind in ("clutter", "rewrite", "truncated", "arxiv", "doi", "title"):
        assert (kind, True) in kinds
    for kind in ("topic", "year", "followup"):
        assert (kind, False) in kinds
    assert sum(p["duplicate"] for p in pairs) > 150
    assert sum(not p["duplicate"] for p in pairs) > 100


def test_default_settings_reach_the_quality_targets() -> None:
    defaults = DedupSettings()
    hasher = MinHasher(Scheme(num_perm=defaults.num_perm, bands=defaults.bands))
    rules = Rules(
        threshold=defaults.threshold,
        window=timedelta(days=defaults.window_days),
        title_window=timedelta(days=defaults.title_window_days),
    )
    total, kinds = evaluate(load_pairs(), hasher, rules)
    assert total.precision >= 0.99, total.errors
    assert total.recall >= 0.95, total.errors
    # No kind of pair is sacrificed for the total.
    for name, score in kinds.items():
        assert score.fp == 0, (name, score.errors)
        assert score.recall >= 0.8, (name, score.errors)
