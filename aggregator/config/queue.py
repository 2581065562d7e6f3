"""The ``[queue]`` table: fetching and parsing spread over ``aggregator worker`` processes.

Owns the schema of every queue key (type, default, help) and its checks, among them
that a queue needs PostgreSQL storage (the job queue, procrastinate, lives in that
database). Starts no worker and opens no connection: ``aggregator/_update/queue/``
does the work, ``aggregator worker`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .schema import Schema

# key: (type, default, help). Every key is documented in config/example.toml.
QUEUE_SCHEMA: Schema = {
    "enabled": (
        bool,
        False,
        "run fetches and parses as jobs for `aggregator worker` processes (needs [storage] url)",
    ),
    "wait_timeout": (
        (int, float),
        900,
        "seconds a run waits for the workers; sources not back by then are reported and"
        " left for the next run",
    ),
    "concurrency": (int, 4, "jobs one `aggregator worker` runs at once (--concurrency wins)"),
    "stalled_after": (
        (int, float),
        30,
        "seconds without a worker's heartbeat after which its jobs are run again elsewhere",
    ),
}


@dataclass(frozen=True)
class QueueSettings:
    """Whether runs use the job queue, and its limits (see QUEUE_SCHEMA for each)."""

    enabled: bool = False
    wait_timeout: float = 900.0
    concurrency: int = 4
    stalled_after: float = 30.0

    @property
    def heartbeat(self) -> float:
        """Seconds between a worker's heartbeats: well within ``stalled_after``."""
        return max(self.stalled_after / 4, 0.5)


def parse_queue(values: dict[str, Any], *, file: str, postgres: bool) -> QueueSettings:
    """Check the type-checked ``[queue]`` values; a ConfigError names the key."""
    if values["enabled"] and not postgres:
        raise ConfigError(
            "the job queue lives in PostgreSQL, and this config stores in SQLite",
            file=file,
            key="queue.enabled",
            hint='set [storage] url = "postgresql://..." (see "Scaling out" in the README),'
            " or remove [queue]",
        )
    if values["wait_timeout"] <= 0:
        raise ConfigError("must be more than 0 seconds", file=file, key="queue.wait_timeout")
    if values["concurrency"] < 1:
        raise ConfigError("must be at least 1", file=file, key="queue.concurrency")
    if values["stalled_after"] < 1:
        raise ConfigError("must be at least 1 second", file=file, key="queue.stalled_after")
    return QueueSettings(
        enabled=values["enabled"],
        wait_timeout=float(values["wait_timeout"]),
        concurrency=values["concurrency"],
        stalled_after=float(values["stalled_after"]),
    )
