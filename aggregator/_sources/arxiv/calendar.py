"""arXiv's announcement calendar, and what a run should say about an arXiv feed. Pure.

arXiv announces new papers on Sunday to Thursday evenings at 20:00 US Eastern time and
dates each announcement by the **following** day: the batch released on Tuesday evening
is the listing of Wednesday, and that date is what its feeds carry (``<pubDate>Wed, 14
Jan 2026 00:00:00 -0500</pubDate>``). So listing days are Monday to Friday; there is none
on Saturday or Sunday, and none on arXiv's holidays (:data:`DEFAULT_HOLIDAYS`, the
``[arxiv].holidays`` setting). Holidays here are listing days, as the feeds would date them.

:func:`batch_state` turns what a feed delivered (its listing day, its number of items)
and what the source delivered before into a note for the run summary: a new
announcement, "not refreshed yet" when the feed still holds the previous batch after the
next one was due, "no announcement" on weekends and holidays, and the days missed.
Never does I/O; the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: arXiv's time zone and announcement time.
TIMEZONE = "America/New_York"
ANNOUNCE_AT = time(20, 0)
#: Submissions received by 14:00 US Eastern on a weekday are announced that evening.
SUBMIT_BY = time(14, 0)

#: Listing days of 2026 without an announcement, as best known when this was written
#: (US federal holidays arXiv observes and its winter break). Check arXiv's schedule at
#: https://info.arxiv.org/help/availability.html and set ``[arxiv].holidays`` to correct it.
DEFAULT_HOLIDAYS: tuple[date, ...] = (
    date(2026, 1, 1),  # New Year's Day
    date(2026, 1, 19),  # Martin Luther King Jr. Day
    date(2026, 5, 25),  # Memorial Day
    date(2026, 6, 19),  # Juneteenth
    date(2026, 7, 3),  # Independence Day (observed)
    date(2026, 9, 7),  # Labor Day
    date(2026, 11, 26),  # Thanksgiving
    date(2026, 11, 27),  # the day after Thanksgiving
    date(2026, 12, 24),  # winter break
    date(2026, 12, 25),  # Christmas
    date(2026, 12, 31),  # winter break
)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# How far to look for the previous or next listing day: longer than any break arXiv takes.
_HORIZON = 40


@dataclass(frozen=True)
class Calendar:
    """arXiv's schedule: which days have a listing and when each is released."""

    holidays: frozenset[date] = field(default_factory=lambda: frozenset(DEFAULT_HOLIDAYS))
    timezone: str = TIMEZONE
    announce_at: time = ANNOUNCE_AT

    def has_listing(self, day: date) -> bool:
        """Whether arXiv publishes a listing dated ``day``."""
        return day.weekday() < 5 and day not in self.holidays

    def why_none(self, day: date) -> str:
        """Why ``day`` has no listing ("Saturday", "a holiday"), or "" if it has one."""
        if day.weekday() >= 5:
            return _WEEKDAYS[day.weekday()]
        if day in self.holidays:
            return f"{_WEEKDAYS[day.weekday()]}, an arXiv holiday"
        return ""

    def release(self, day: date) -> datetime:
        """When the listing dated ``day`` comes out: the evening before, in arXiv's zone."""
        return datetime.combine(day - timedelta(days=1), self.announce_at, ZoneInfo(self.timezone))

    def latest(self, now: datetime) -> date | None:
        """The newest listing day already released at ``now``."""
        day = now.astimezone(ZoneInfo(self.timezone)).date() + timedelta(days=1)
        for _ in range(_HORIZON):
            if self.has_listing(day) and self.release(day) <= now:
                return day
            day -= timedelta(days=1)
        return None

    def next(self, now: datetime) -> date | None:
        """The first listing day not yet released at ``now``."""
        day = now.astimezone(ZoneInfo(self.timezone)).date()
        for _ in range(_HORIZON):
            if self.has_listing(day) and self.release(day) > now:
                return day
            day += timedelta(days=1)
        return None

    def deadline(self, day: date) -> datetime:
        """The submission deadline of the listing dated ``day``: 14:00 arXiv time on the
        last weekday before it (Friday for a Monday listing)."""
        last = day - timedelta(days=1)
        while last.weekday() >= 5:
            last -= timedelta(days=1)
        return datetime.combine(last, SUBMIT_BY, ZoneInfo(self.timezone))

    def previous(self, day: date) -> date:
        """The listing day before ``day``."""
        day -= timedelta(days=1)
        while not self.has_listing(day):
            day -= timedelta(days=1)
        return day

    def listing_for(self, submitted: datetime) -> date:
        """The listing that announces a version submitted at ``submitted``, by the schedule.

        Approximate by nature: arXiv holds some papers for moderation, which then appear
        in a later listing.
        """
        day = submitted.astimezone(ZoneInfo(self.timezone)).date()
        for _ in range(_HORIZON):
            if self.has_listing(day) and self.deadline(day) > submitted:
                return day
            day += timedelta(days=1)
        return day

    def listing_days(self, after: date, until: date) -> list[date]:
        """Listing days in (``after``, ``until``), both ends excluded."""
        days = []
        day = after + timedelta(days=1)
        while day < until:
            if self.has_listing(day):
                days.append(day)
            day += timedelta(days=1)
        return days


@dataclass(frozen=True)
class BatchState:
    """What one arXiv feed's delivery means for the run."""

    #: "new" (a batch not read before), "same" (the batch read last time) or "empty".
    kind: str
    #: One line for the run summary.
    note: str
    #: A problem worth a warning (an empty feed on a listing day), or None.
    warning: str | None = None
    #: Listing days between the last batch read and this one, which the feed no longer has.
    missed: tuple[date, ...] = ()


def day_name(day: date) -> str:
    return f"{day.isoformat()} ({_WEEKDAYS[day.weekday()][:3]})"


def batch_state(
    *,
    batch_day: date | None,
    items: int,
    last_day: date | None,
    now: datetime,
    calendar: Calendar,
) -> BatchState:
    """Describe a delivery: ``batch_day`` is the feed's listing day, ``last_day`` the newest
    batch this source delivered before (None if never)."""
    latest = calendar.latest(now)
    upcoming = calendar.next(now)
    next_text = f"; next listing {day_name(upcoming)}" if upcoming else ""
    today = now.astimezone(ZoneInfo(calendar.timezone)).date()
    if items == 0:
        reason = calendar.why_none(today)
        if reason or latest is None or (last_day is not None and last_day >= latest):
            what = f"no announcement today ({reason})" if reason else "no new announcement"
            return BatchState("empty", f"{what}{next_text}")
        return BatchState(
            "empty",
            f"the feed is empty, though {day_name(latest)} has a listing{next_text}",
            warning=f"empty feed on an announcement day ({day_name(latest)}): arXiv may be"
            " late, or the category had no announcements; the next run will look again",
        )
    assert batch_day is not None
    if last_day is not None and batch_day <= last_day:
        if latest is not None and latest > batch_day:
            return BatchState(
                "same",
                f"not refreshed yet: the feed still has the {day_name(batch_day)} announcement,"
                f" {day_name(latest)}'s is due",
            )
        reason = calendar.why_none(today)
        if reason:
            return BatchState(
                "same",
                f"no announcement today ({reason}); latest is {day_name(batch_day)}{next_text}",
            )
        return BatchState("same", f"no new announcement since {day_name(batch_day)}{next_text}")
    missed = tuple(calendar.listing_days(last_day, batch_day)) if last_day else ()
    note = f"announcement of {day_name(batch_day)}: {items} paper{'s' if items != 1 else ''}"
    if missed:
        note += f"; missed {', '.join(d.isoformat() for d in missed)}"
    return BatchState("new", note, missed=missed)


def backfill_hint(missed: tuple[date, ...]) -> str:
    """What to run to fetch ``missed`` listing days."""
    return f"run `aggregator arxiv backfill --from {missed[0]} --to {missed[-1]}`"
