"""How often a source is asked: the ``interval`` and ``adaptive`` keys of a source.

Owns reading an interval ("30m", "6h", "1d", "1w", or a number of seconds) into
seconds, and the bounds an adaptive interval stays within. Deciding when a source
is due is the fetch stage's (aggregator._fetch.schedule); reads nothing itself.
"""

from __future__ import annotations

import re

from ..errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
#: The shortest interval a source may ask for, and the longest.
MIN_INTERVAL = 60.0
MAX_INTERVAL = 30 * 86400.0
#: Where an adaptive source without an interval starts.
DEFAULT_ADAPTIVE_START = 86400.0


def parse_interval(value: str | int | float, *, file: str, key: str) -> float:
    """Seconds from "6h", "1d", "90m", "1w" or a plain number of seconds. Raises ConfigError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _INTERVAL_RE.match(str(value))
        if match is None:
            raise ConfigError(
                f"{value!r} is not an interval",
                file=file,
                key=key,
                hint='a number and a unit: "30m", "6h", "1d", "1w"',
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise ConfigError(
            f"interval {value!r} is out of range",
            file=file,
            key=key,
            hint="between 1 minute and 30 days",
        )
    return seconds


def shown(seconds: float) -> str:
    """An interval in the largest unit that divides it ("6h", "1d", "90m")."""
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds)}s"
