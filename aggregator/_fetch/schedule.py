"""When a source with an ``interval`` is next due, and what ``adaptive`` makes of it. Pure.

Owns the polling rhythm of a source:

- **No interval**: asked on every run (as before).
- **interval = "6h"**: asked when the interval has passed since its last successful
  fetch. A run that starts within a tenth of the interval (at most an hour) before
  that time asks it too, so a daily cron job that starts a little earlier than
  yesterday's does not skip a day. Failures are health's business: a source whose
  fetch failed is asked again when its backoff says, not an interval later.
- **adaptive = true**: the interval follows the source's rhythm as source health
  measures it (the median gap between days with new entries, see
  :func:`aggregator._fetch.health.usual_gap`): half that gap, so that news waits at
  most about half a gap, kept between a quarter and eight times the configured
  interval (one day when none is configured) and between an hour and 14 days. With
  fewer than three days of history it is the configured interval.

arXiv sources take no interval (the config refuses it): their announcement calendar
decides when there is something to read. Never does I/O; the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..config.polling import shown
from ..config.sources import Source
from .health import usual_gap

GRACE_SHARE = 0.1
MAX_GRACE = 3600.0
ADAPTIVE_MIN = 3600.0
ADAPTIVE_MAX = 14 * 86400.0


@dataclass(frozen=True)
class Plan:
    """A source's next planned fetch: when, and the interval it comes from."""

    at: datetime | None
    interval: float
    #: The configured interval, when ``adaptive`` moved it.
    configured: float | None = None

    def describe(self) -> str:
        """ "every 6h", or "every 12h, adaptive from 1d"."""
        if self.configured is None:
            return f"every {shown(self.interval)}"
        return f"every {shown(self.interval)}, adaptive from {shown(self.configured)}"


def interval_of(source: Source, new_entry_days: list[date]) -> float | None:
    """Seconds between fetches of ``source`` now, or None when it is asked every run."""
    if source.interval is None:
        return None
    if not source.adaptive:
        return source.interval
    rhythm = usual_gap(new_entry_days)
    if rhythm is None:
        return source.interval
    low = max(ADAPTIVE_MIN, source.interval / 4)
    high = min(ADAPTIVE_MAX, source.interval * 8)
    return min(max(rhythm.total_seconds() / 2, low), high)


def plan(source: Source, last_success: datetime | None, new_entry_days: list[date]) -> Plan | None:
    """The next planned fetch (``at`` None: at the next run), or None without an interval."""
    interval = interval_of(source, new_entry_days)
    if interval is None:
        return None
    at = None if last_success is None else last_success + timedelta(seconds=interval)
    return Plan(at, interval, source.interval if source.adaptive else None)


def not_due(planned: Plan | None, now: datetime) -> str | None:
    """Why a source is not asked at ``now``, in words, or None when it is due."""
    if planned is None or planned.at is None:
        return None
    grace = timedelta(seconds=min(planned.interval * GRACE_SHARE, MAX_GRACE))
    if now >= planned.at - grace:
        return None
    when = planned.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"not due: next planned fetch {when} ({planned.describe()})"


def waiting(
    sources: list[Source],
    last_success: Mapping[str, str | None],
    new_entry_days: Mapping[str, list[date]],
    now: datetime,
) -> dict[str, str]:
    """Of ``sources``, those not due at ``now``, with the reason (``last_success`` as
    stored: ISO 8601 in UTC)."""
    found: dict[str, str] = {}
    for source in sources:
        if source.interval is None:
            continue
        stamp = last_success.get(source.name)
        last = datetime.fromisoformat(stamp) if stamp else None
        reason = not_due(plan(source, last, list(new_entry_days.get(source.name, []))), now)
        if reason is not None:
            found[source.name] = reason
    return found
