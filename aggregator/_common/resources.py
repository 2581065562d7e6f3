"""Where bundled files live: templates, sample seeds and the configs (default, example,
starter).

In a wheel they are copied into ``aggregator/_data/``; in a source checkout
(editable install) they are read from the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The folder holding ``templates/``, ``seeds/`` and ``config/``."""
    bundled = _PACKAGE / "_data"
    return bundled if bundled.is_dir() else _PACKAGE.parent


def templates_dir() -> Path:
    return data_root() / "templates"


def default_config() -> Path:
    return data_root() / "config" / "default.toml"


def example_config() -> Path:
    """Every key with its default and help (``aggregator config example``)."""
    return data_root() / "config" / "example.toml"


def starter_config() -> Path:
    """The common keys, commented (what ``aggregator init`` writes)."""
    return data_root() / "config" / "starter.toml"


def sample_daily_list() -> Path:
    """The sample arXiv daily list ``aggregator init`` copies beside a new config."""
    return data_root() / "seeds" / "002_d401467fe4d4ae84.txt"
