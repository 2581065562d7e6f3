"""The labelled near-duplicate evaluation set (tests/data/dedup/) and how it is scored.

Shared by tests/test_dedup_quality.py (which asserts precision and recall) and
benchmarks/dedup.py (which also times the lookup against a large store). Each pair
goes through the real path: ``normalize`` then ``neardup.features`` then
``neardup.choose_match``, with a candidate only when the two share an LSH band key or
a work key, exactly as the store finds candidates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator._neardup.minhash import MinHasher
from aggregator._neardup.rules import (
    Candidate,
    Features,
    Rules,
    choose_match,
    entry_text,
    features,
    grey_keys,
    refine,
)
from aggregator._update.normalize import normalize
from aggregator.types import Entry, ParsedEntry

PAIRS = Path(__file__).resolve().parent / "data" / "dedup" / "pairs.jsonl"


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def to_entry(data: dict[str, Any], *, source: str) -> Entry:
    parsed = ParsedEntry(
        title=data["title"],
        link=data.get("link"),
        published=datetime.fromisoformat(data["published"]),
        authors=tuple(data.get("authors") or ()),
        content=data.get("content"),
        pdf_url=data.get("pdf_url"),
        arxiv_id=data.get("arxiv_id"),
        doi=data.get("doi"),
    )
    return normalize(parsed, source=source)


def features_of(entry: Entry, hasher: MinHasher) -> Features:
    assert entry.published is not None
    return features(
        entry, key=entry.key, source=entry.source, first_seen=entry.published, hasher=hasher
    )


def candidate_of(found: Features) -> Candidate:
    return Candidate(found.key, found.when, found.signature, found.work_keys)


def is_duplicate(pair: dict[str, Any], hasher: MinHasher, rules: Rules) -> bool:
    """The system's decision for one pair: would ``b`` be linked to ``a``?"""
    a = to_entry(pair["a"], source="source-a")
    b = to_entry(pair["b"], source="source-b")
    if a.key == b.key:
        return True  # the identity key already makes them one row
    fa, fb = features_of(a, hasher), features_of(b, hasher)
    if not (set(fa.bands) & set(fb.bands) or set(fa.work_keys) & set(fb.work_keys)):
        return False
    candidates = [candidate_of(fa)]
    if grey_keys(fb, candidates, rules.threshold):
        candidates = refine(fb, candidates, {fa.key: entry_text(a)})
    return choose_match(fb, candidates, rules=rules) is not None


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, pair_id: str, expected: bool, got: bool) -> None:
        if expected and got:
            self.tp += 1
        elif expected:
            self.fn += 1
            self.errors.append(f"missed {pair_id}")
        elif got:
            self.fp += 1
            self.errors.append(f"wrongly merged {pair_id}")
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(
    pairs: Iterable[dict[str, Any]], hasher: MinHasher, rules: Rules
) -> tuple[Score, dict[str, Score]]:
    """Overall and per-kind scores of the duplicate decision on ``pairs``."""
    total = Score()
    kinds: dict[str, Score] = {}
    for pair in pairs:
        got = is_duplicate(pair, hasher, rules)
        total.add(pair["id"], pair["duplicate"], got)
        kinds.setdefault(f"{pair['lang']}:{pair['kind']}", Score()).add(
            pair["id"], pair["duplicate"], got
        )
    return total, kinds
