"""Where bundled files live: templates, sample seeds and the default config.

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
