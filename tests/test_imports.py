"""What a parsing worker imports: the stages it runs, not the facade, store or mailer.

Worker processes are spawned fresh, so every module the reading stage pulls in is
imported again in each of them on every run.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import aggregator

HEAVY = ("aggregator.core", "aggregator._storage", "aggregator._mail", "apscheduler", "jinja2")


def _imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_the_reading_stage_imports_no_facade_store_or_mailer() -> None:
    loaded = _imported_by("aggregator._update.reading")
    assert "aggregator._update.reading" in loaded
    assert "aggregator._neardup.minhash" in loaded
    heavy = sorted(m for m in loaded if m.startswith(HEAVY))
    assert heavy == []


def test_the_public_names_are_still_there_on_first_use() -> None:
    for name in aggregator.__all__:
        assert getattr(aggregator, name) is not None
    assert "Aggregator" in dir(aggregator)
    loaded = _imported_by("aggregator")
    assert "aggregator.core" not in loaded  # imported when first asked for


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nothing"):
        aggregator.Nothing  # type: ignore[attr-defined]  # noqa: B018


def test_commands_that_rank_nothing_do_not_import_scikit_learn() -> None:
    # About a second of import time, paid only when a model is fitted.
    for module in ("aggregator.core", "aggregator._app.cli", "aggregator._enrich.ranker"):
        loaded = _imported_by(module)
        assert sorted(m for m in loaded if m.split(".")[0] in ("sklearn", "scipy")) == []
