"""Counts in words (``aggregator._common.wording``): the singular for one, the plural otherwise."""

from __future__ import annotations

import pytest

from aggregator._common.wording import plural


@pytest.mark.parametrize(
    ("count", "word", "expected"),
    [
        (0, "category", "0 categories"),
        (1, "category", "1 category"),
        (2, "category", "2 categories"),
        (1, "entry", "1 entry"),
        (3, "entry", "3 entries"),
        (1, "source", "1 source"),
        (2, "source", "2 sources"),
        (1, "listing day", "1 listing day"),
        (4, "listing day", "4 listing days"),
    ],
)
def test_plural(count: int, word: str, expected: str) -> None:
    assert plural(count, word) == expected


def test_an_irregular_plural_can_be_given() -> None:
    assert plural(2, "child", "children") == "2 children"
    assert plural(1, "child", "children") == "1 child"
