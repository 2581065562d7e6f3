"""Cron expressions as APScheduler triggers that neither skip nor double a day at a DST change.

Owns turning a five-field cron expression and an IANA time zone into a trigger, and the
rule for clock changes. Pure: no scheduler, no I/O. ``config`` uses it to validate
``[schedule]``; ``schedule`` uses it to run the jobs.

APScheduler 3's own :class:`CronTrigger` fires *twice* when a wall-clock time occurs twice
(02:30 on the night clocks go back in Europe/Berlin, 01:30 in America/New_York). The rule
here is the one Vixie cron follows for fixed times:

- a wall-clock time that occurs twice (clocks go back) fires once, at its first occurrence;
- a wall-clock time that does not exist (clocks go forward) fires once, at the instant it
  would have been without the change (02:30 CET = 03:30 CEST), so the day is never skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

#: Longest chain of repeated wall-clock times skipped in one call (an hour of minutes).
_MAX_SKIPS = 10_000


def is_repeated_wall_time(instant: datetime, zone: ZoneInfo) -> bool:
    """True when ``instant`` is the *second* occurrence of its wall-clock time in ``zone``."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    return instant.astimezone(UTC) == second.astimezone(UTC) != first.astimezone(UTC)


class DstSafeCronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler is untyped
    """A :class:`CronTrigger` that skips the second occurrence of a repeated wall time."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        zone: Any = self.timezone
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        for _ in range(_MAX_SKIPS):
            if fire is None or not isinstance(zone, ZoneInfo):
                return fire
            if not is_repeated_wall_time(fire, zone):
                return fire
            # Aware datetime arithmetic is wall-clock arithmetic and drops ``fold``, so the
            # step past the skipped time is taken in UTC.
            after = (fire.astimezone(UTC) + timedelta(microseconds=1)).astimezone(zone)
            fire = super().get_next_fire_time(None, after)
        return fire


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_weekdays(field: str) -> str:
    """A cron day-of-week field (0 or 7 = Sunday) in APScheduler's terms (day names).

    APScheduler 3 numbers days from Monday = 0, so ``1-5`` would mean Tuesday to
    Saturday; numbers are therefore spelled out as names (``mon,tue,wed,thu,fri``).
    Raises ValueError for a number outside 0-7.
    """
    terms: list[str] = []
    for term in field.lower().split(","):
        body, _, step_text = term.partition("/")
        if any(ch.isalpha() for ch in body) or (body == "*" and not step_text):
            terms.append(term)
            continue
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            low, _, high = body.partition("-")
            first, last = int(low), int(high)
        else:
            first = last = int(body)
            if step_text:
                last = 6
        if not (0 <= first <= 7 and 0 <= last <= 7) or first > last or step < 1:
            raise ValueError(f"day of week {term!r}: use 0-7 (0 and 7 are Sunday) or mon-sun")
        names = dict.fromkeys(_DAY_NAMES[day] for day in range(first, last + 1, step))
        terms.append(",".join(names))
    return ",".join(terms)


def cron_trigger(expression: str, timezone: str) -> DstSafeCronTrigger:
    """A trigger for a standard five-field cron expression, in ``timezone``.

    Fields: minute hour day-of-month month day-of-week, as in crontab(5). Raises
    ValueError with the reason when the expression does not parse.
    """
    values = expression.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields, got {len(values)}")
    try:
        weekdays = crontab_weekdays(values[4])
    except ValueError as err:
        if "day of week" in str(err):
            raise
        raise ValueError(f"day of week {values[4]!r} is not a number, range or name") from None
    return DstSafeCronTrigger(
        minute=values[0],
        hour=values[1],
        day=values[2],
        month=values[3],
        day_of_week=weekdays,
        timezone=ZoneInfo(timezone),
    )


def fire_times(trigger: CronTrigger, start: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``start``, chained as the scheduler chains them."""
    times: list[datetime] = []
    previous: datetime | None = None
    now = start
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous = now = fire
    return times
