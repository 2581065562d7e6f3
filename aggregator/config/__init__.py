"""Configuration: TOML to validated, frozen settings, and editing the config file.

Owns reading and checking every key (``settings``: the core tables; ``mail``: ``[email]``
and ``[[subscribers]]``; ``serve``: ``[serve]``; ``sources``: the source kinds; ``schema``:
the key tables' shape and their type check) and the ``sources`` commands' edits of the
file (``file``). Never touches the network or the database.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import DEFAULT_CONFIG_NAME, Settings, load_config, parse_config

__all__ = ["DEFAULT_CONFIG_NAME", "Settings", "load_config", "parse_config"]


def __getattr__(name: str) -> Any:
    # Imported on first use: a parsing worker needs ``sources`` alone, not every
    # table's checks (the scheduler's cron parser among them).
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import settings

    return getattr(settings, name)
