"""The linking stage computes each new entry's features once, however long the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from aggregator._neardup import linking
from aggregator._update.decide import Outcome
from aggregator.config.settings import load_config
from aggregator.core import run
from benchmarks import feeds as generator


def test_features_computed_once_per_entry_past_the_lookahead(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One document read in this process (no workers): every feature is computed by
    # the linking stage, in runs of LOOKAHEAD new entries written together.
    entries = 2 * linking.LOOKAHEAD + 100
    computed: Counter[str] = Counter()
    real = linking.features

    def counting(entry: linking.TextEntry, **kwargs: object) -> linking.Features:
        found = real(entry, **kwargs)  # type: ignore[arg-type]
        computed[found.key] += 1
        return found

    monkeypatch.setattr(linking, "features", counting)
    httpserver.expect_request("/big.xml").respond_with_data(
        generator.feed_bytes(1, entries=entries), content_type="application/atom+xml"
    )
    body = (
        "[fetch]\nprocesses = 0\n"
        f'[[sources]]\nname = "blog"\nurl = "{httpserver.url_for("/big.xml")}"\n'
    )
    summary = run(load_config(write_config(body)), clock=clock)
    assert not summary.failed
    assert summary.count(Outcome.NEW) == entries
    assert len(computed) == entries
    assert set(computed.values()) == {1}, "an entry's features were computed more than once"
