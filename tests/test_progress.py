"""The progress bar: only on a terminal, only for several sources."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from aggregator._app.cli.progress import progress_for
from aggregator.config.settings import load_config
from aggregator.core import SourceReport


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_and_none_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_config(None, cwd=tmp_path)  # six sources
    with progress_for(settings) as callback:
        assert callback is None  # pytest's stderr is not a terminal
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_for(settings) as callback:
        assert callback is not None
        for source in settings.sources:
            callback(SourceReport(source.name, source.kind, source.location))
    assert "6/6" in terminal.getvalue()
    with progress_for(settings, enabled=False) as callback:
        assert callback is None
