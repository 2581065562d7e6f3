"""Shared fixtures: a fixed clock, the repository paths, a config writer, a parse counter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator import reading

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"

#: The fixed "now" of the tests: 2026-11-23 07:30 UTC.
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config file into tmp_path; seeds are reachable as {seeds}."""

    def write(text: str) -> Path:
        path = tmp_path / "aggregator.toml"
        path.write_text(text.replace("{seeds}", str(SEEDS)), encoding="utf-8")
        return path

    return write


Parses = list[str]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Parses:
    """The names of the sources parsed, in order."""
    seen: Parses = []
    real = reading.get_parser

    def counting(kind: str, engine: str = "auto") -> Callable[..., object]:
        parse = real(kind, engine)

        def wrapped(data: bytes, *, source: str, **kwargs: object) -> object:
            seen.append(source)
            return parse(data, source=source, **kwargs)

        return wrapped

    monkeypatch.setattr(reading, "get_parser", counting)
    return seen
