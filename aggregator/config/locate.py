"""Which config file an invocation uses, and why.

Owns the lookup order, first found wins:

1. ``--config FILE``;
2. the ``AGGREGATOR_CONFIG`` environment variable (a path; empty means unset);
3. ``./aggregator.toml`` in the current folder;
4. ``$XDG_CONFIG_HOME/aggregator/aggregator.toml`` (``~/.config`` when the variable
   is unset or not an absolute path, as the XDG Base Directory spec says);
5. the embedded default (the bundled samples; output in the current folder).

Pure: the environment, the current folder and the home folder are passed in; the
only look at the file system is whether a candidate file exists. Never reads a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CONFIG_NAME = "aggregator.toml"
ENV_VAR = "AGGREGATOR_CONFIG"

#: How a config was found, in the words ``status`` and ``config path`` print.
BY_OPTION = "--config"
BY_ENV = f"${ENV_VAR}"
BY_CWD = f"./{DEFAULT_CONFIG_NAME}"
BY_XDG = f"$XDG_CONFIG_HOME/aggregator/{DEFAULT_CONFIG_NAME}"
BY_DEFAULT = "embedded default"


@dataclass(frozen=True)
class Location:
    """The config file to read (None: the embedded default) and which rule chose it."""

    path: Path | None
    found_by: str

    def describe(self) -> str:
        if self.path is None:
            return "the embedded default (no --config, $AGGREGATOR_CONFIG or aggregator.toml)"
        return f"{self.path} (from {self.found_by})"


def xdg_config_file(environ: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CONFIG_HOME/aggregator/aggregator.toml``, with the spec's fallback."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else home / ".config"
    return root / "aggregator" / DEFAULT_CONFIG_NAME


def locate(given: Path | None, *, cwd: Path, environ: Mapping[str, str], home: Path) -> Location:
    """The config this invocation uses (see the module docstring for the order).

    A path given by ``--config`` or ``AGGREGATOR_CONFIG`` is returned whether or not
    it exists: reading it then says it is missing, rather than silently falling back.
    """
    if given is not None:
        return Location(given, BY_OPTION)
    from_env = environ.get(ENV_VAR, "")
    if from_env:
        return Location(Path(from_env).expanduser(), BY_ENV)
    here = cwd / DEFAULT_CONFIG_NAME
    if here.is_file():
        return Location(here, BY_CWD)
    xdg = xdg_config_file(environ, home)
    if xdg.is_file():
        return Location(xdg, BY_XDG)
    return Location(None, BY_DEFAULT)
