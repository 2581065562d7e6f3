"""Configuration: TOML to validated, frozen settings, and editing the config file.

Owns reading and checking every key (``settings``: the core tables; ``mail``: ``[email]``
and ``[[subscribers]]``; ``serve``: ``[serve]``; ``sources``: the source kinds; ``schema``:
the key tables' shape and their type check) and the ``sources`` commands' edits of the
file (``file``). Never touches the network or the database.
"""

from .settings import DEFAULT_CONFIG_NAME, Settings, load_config, parse_config

__all__ = ["DEFAULT_CONFIG_NAME", "Settings", "load_config", "parse_config"]
