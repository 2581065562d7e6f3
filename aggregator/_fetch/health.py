"""Source health: when to ask a source again, and how a source is doing. Pure.

Owns the rules of politeness and of judgement, over plain values, with the clock
passed in: a 410 disables a source until its configured URL changes; a 429 or 503
with Retry-After rests it exactly that long; any other failure rests it
exponentially longer (``backoff_base`` doubling, at most ``backoff_max``). For
``aggregator status`` it tells *failing* and *gone* from *stale* (no new entries for
longer than the source's own rhythm) and *quiet* (nothing new lately, as usual).

Never does I/O: the store keeps :class:`FetchState`, the pipeline applies it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from statistics import median

from ..config.settings import FetchSettings
from ..errors import FetchError, GoneError

#: A backoff rest this close to its end no longer skips the source: a daily cron job
#: that starts a little earlier than yesterday must not lose a whole day.
BACKOFF_GRACE = timedelta(minutes=5)
#: Longest Retry-After honoured; a server asking for more is asked again after this.
MAX_RETRY_AFTER = timedelta(days=7)
#: Sources with fewer days of new entries than this have no rhythm to judge yet.
MIN_HISTORY_DAYS = 3
#: Stale means no new entries for longer than this many usual gaps ...
STALE_FACTOR = 3
#: ... and never sooner than this.
MIN_STALE = timedelta(days=3)

RETRY_AFTER = "retry-after"
BACKOFF = "backoff"


@dataclass(frozen=True)
class FetchState:
    """What is remembered about fetching one source's configured ``url``."""

    name: str
    url: str
    #: Where a permanent redirect (301, 308) pointed; fetched instead of ``url``.
    effective_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_status: int | None = None
    #: Not to be asked before this time (Retry-After or backoff, see ``next_reason``).
    next_attempt: datetime | None = None
    next_reason: str | None = None
    #: Why the source is disabled (a 410); cleared when the configured URL changes.
    disabled_reason: str | None = None

    @property
    def fetch_url(self) -> str:
        return self.effective_url or self.url


def state_for(url: str, name: str, stored: FetchState | None) -> FetchState:
    """The state that applies to ``url``: the stored one, unless the config changed the URL."""
    if stored is not None and stored.url == url:
        return stored
    return FetchState(name=name, url=url)


def skip_reason(state: FetchState, now: datetime, *, failures: int) -> str | None:
    """Why the source must not be fetched now, in words, or None to fetch it."""
    if state.disabled_reason:
        return f"{state.disabled_reason} (change its url in the config to try again)"
    if state.next_attempt is None:
        return None
    until = state.next_attempt
    if state.next_reason == RETRY_AFTER:
        if now < until:
            return f"rate-limited: the server asked not to be called before {_when(until)}"
        return None
    if now < until - BACKOFF_GRACE:
        plural = "s" if failures != 1 else ""
        return (
            f"skipped until {_when(until)} after {failures} failure{plural} in a row"
            f" (`aggregator sources reset {state.name}` retries it at the next run)"
        )
    return None


def backoff(failures: int, settings: FetchSettings) -> timedelta:
    """The rest after ``failures`` failures in a row: base, doubling, capped."""
    if failures < 1:
        return timedelta(0)
    seconds = settings.backoff_base * 2.0 ** min(failures - 1, 40)
    return timedelta(seconds=min(seconds, settings.backoff_max))


def after_success(
    state: FetchState,
    *,
    status: int | None,
    etag: str | None,
    last_modified: str | None,
    moved_to: str | None,
) -> FetchState:
    """The state after a 200 or 304: new validators, no rest, maybe a new URL.

    A 304 carries no validators worth keeping over the stored ones unless it sends them.
    """
    return replace(
        state,
        effective_url=moved_to or state.effective_url,
        etag=etag or state.etag,
        last_modified=last_modified or state.last_modified,
        last_status=status,
        next_attempt=None,
        next_reason=None,
        disabled_reason=None,
    )


def after_failure(
    state: FetchState,
    err: FetchError,
    *,
    failures: int,
    now: datetime,
    settings: FetchSettings,
) -> FetchState:
    """The state after a failed fetch; ``failures`` counts this one."""
    if isinstance(err, GoneError):
        return replace(
            state,
            last_status=err.status,
            next_attempt=None,
            next_reason=None,
            disabled_reason=f"gone: HTTP 410 since {_when(now)}",
        )
    if err.retry_after is not None:
        until = min(err.retry_after, now + MAX_RETRY_AFTER)
        return replace(
            state,
            last_status=err.status,
            next_attempt=max(until, now),
            next_reason=RETRY_AFTER,
        )
    return replace(
        state,
        last_status=err.status,
        next_attempt=now + backoff(failures, settings),
        next_reason=BACKOFF,
    )


# -- judging a source for `aggregator status` ----------------------------------------------

OK = "ok"
QUIET = "quiet"
STALE = "stale"
FAILING = "failing"
GONE = "gone"
RATE_LIMITED = "rate-limited"
NEW = "never fetched"
DISABLED = "disabled"

#: Flags that make ``aggregator status`` exit 1: someone must act.
PROBLEMS = frozenset({FAILING, GONE})


@dataclass(frozen=True)
class Verdict:
    flag: str
    #: The usual gap between days with new entries, when there is enough history.
    rhythm: timedelta | None = None


def judge(
    *,
    enabled: bool,
    last_attempt: datetime | None,
    consecutive_failures: int,
    state: FetchState | None,
    new_entry_days: list[date],
    now: datetime,
) -> Verdict:
    """How one source is doing. ``new_entry_days`` are the days it delivered new entries."""
    rhythm = usual_gap(new_entry_days)
    if not enabled:
        return Verdict(DISABLED, rhythm)
    if state is not None and state.disabled_reason:
        return Verdict(GONE, rhythm)
    if consecutive_failures:
        if state is not None and state.next_reason == RETRY_AFTER:
            return Verdict(RATE_LIMITED, rhythm)
        return Verdict(FAILING, rhythm)
    if last_attempt is None:
        return Verdict(NEW, rhythm)
    if not new_entry_days:
        return Verdict(QUIET, rhythm)
    silence = now.date() - max(new_entry_days)
    if rhythm is not None and silence > max(STALE_FACTOR * rhythm, MIN_STALE):
        return Verdict(STALE, rhythm)
    if silence > (rhythm or timedelta(days=1)):
        return Verdict(QUIET, rhythm)
    return Verdict(OK, rhythm)


def usual_gap(days: list[date]) -> timedelta | None:
    """The median gap between consecutive days with new entries (None: too little history)."""
    unique = sorted(set(days))
    if len(unique) < MIN_HISTORY_DAYS:
        return None
    gaps = [(b - a).days for a, b in itertools.pairwise(unique)]
    return timedelta(days=median(gaps))


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
