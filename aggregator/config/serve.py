"""The ``[serve]`` table: limits of ``aggregator serve``, validated into a value.

Owns the schema of every serve key (type, default, help) and its checks. Opens no
socket; ``aggregator/_app/serve.py`` applies the values, ``cli/daemon.py`` lets options
override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .schema import Schema

# key: (type, default, help). Every key is documented in config/example.toml; the help
# strings are also the --help of the matching `aggregator serve` options.
SERVE_SCHEMA: Schema = {
    "max_connections": (
        int,
        64,
        "connections served at once; more wait in the listen queue, and when all are"
        " taken the one that has waited longest for a request is closed",
    ),
    "header_timeout": (
        (int, float),
        10,
        "seconds a client has to send a whole request line and headers",
    ),
    "idle_timeout": (
        (int, float),
        15,
        "seconds a kept-alive connection may wait for its next request",
    ),
    "write_timeout": (
        (int, float),
        30,
        "seconds a response may make no progress (a client that stopped reading)",
    ),
}


@dataclass(frozen=True)
class ServeSettings:
    """Connection limits of ``aggregator serve`` (see SERVE_SCHEMA for each)."""

    max_connections: int = 64
    header_timeout: float = 10.0
    idle_timeout: float = 15.0
    write_timeout: float = 30.0


def parse_serve(values: dict[str, Any], *, file: str) -> ServeSettings:
    """Check the type-checked ``[serve]`` values; a ConfigError names the key."""
    if values["max_connections"] < 1:
        raise ConfigError("must be at least 1", file=file, key="serve.max_connections")
    for key in ("header_timeout", "idle_timeout", "write_timeout"):
        if values[key] <= 0:
            raise ConfigError("must be more than 0 seconds", file=file, key=f"serve.{key}")
    return ServeSettings(
        max_connections=values["max_connections"],
        header_timeout=float(values["header_timeout"]),
        idle_timeout=float(values["idle_timeout"]),
        write_timeout=float(values["write_timeout"]),
    )
