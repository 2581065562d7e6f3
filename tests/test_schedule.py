"""The scheduler: DST-safe cron timing with a fixed clock, config errors, job behaviour."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from conftest import ROOT

from aggregator._app import schedule
from aggregator._app.cli import main
from aggregator._app.cron import cron_trigger, crontab_weekdays, fire_times, is_repeated_wall_time
from aggregator.config.settings import load_config
from aggregator.core import RunSummary
from aggregator.errors import ConfigError, StorageError

# 2026's transitions: Europe/Berlin 29 March (02:00 -> 03:00) and 25 October
# (03:00 -> 02:00); America/New_York 8 March and 1 November.
TRANSITIONS = [
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
]
# Times of day around the change: ordinary, inside the skipped hour, inside the repeated
# hour (Berlin repeats 02:00-03:00, New York 01:00-02:00), and at the edges.
DAILY = ["30 6 * * *", "30 2 * * *", "30 1 * * *", "0 2 * * *", "0 3 * * *", "59 1 * * *"]


@pytest.mark.parametrize(("zone", "day"), TRANSITIONS)
@pytest.mark.parametrize("expression", DAILY)
def test_a_daily_job_fires_exactly_once_per_day_across_dst(
    zone: str, day: date, expression: str
) -> None:
    trigger = cron_trigger(expression, zone)
    start = datetime.combine(day - timedelta(days=3), datetime.min.time(), ZoneInfo(zone))
    times = fire_times(trigger, start, 7)
    local_days = [t.astimezone(ZoneInfo(zone)).date() for t in times]
    assert local_days == [start.date() + timedelta(days=n) for n in range(7)], times
    # Chained like the scheduler chains them: strictly increasing real instants.
    instants = [t.astimezone(UTC) for t in times]
    assert instants == sorted(set(instants))


def test_on_the_night_clocks_go_back_the_first_0230_fires_and_the_second_does_not() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    times = fire_times(cron_trigger("30 2 * * *", "Europe/Berlin"), datetime(2026, 10, 24), 3)
    assert [t.astimezone(UTC) for t in times] == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first 02:30
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]
    assert all(not is_repeated_wall_time(t, berlin) for t in times)


def test_on_the_night_clocks_go_forward_a_missing_time_fires_an_hour_later() -> None:
    times = fire_times(
        cron_trigger("30 2 * * *", "Europe/Berlin"),
        datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Berlin")),
        1,
    )
    # 02:30 does not exist that night; it fires at 01:30 UTC = 03:30 CEST.
    assert times[0].astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_hourly_jobs_keep_running_through_the_changes() -> None:
    zone = ZoneInfo("America/New_York")
    times = fire_times(
        cron_trigger("0 */2 * * *", "America/New_York"), datetime(2026, 10, 31, tzinfo=zone), 24
    )
    gaps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in itertools.pairwise(times)}
    assert gaps <= {timedelta(hours=2), timedelta(hours=3)}
    per_day = Counter(t.astimezone(zone).date() for t in times)
    assert per_day[date(2026, 11, 1)] == 12


def test_the_unpatched_apscheduler_trigger_would_double_the_day() -> None:
    # Guards the reason cron.py exists: if APScheduler fixes this, the wrapper can go.
    # The bug came with 3.11; 3.10 (still allowed, tested by the lowest-versions pass)
    # fires once, and the wrapper is harmless there (the other tests here cover it).
    from apscheduler import version_info
    from apscheduler.triggers.cron import CronTrigger

    if version_info < (3, 11):
        pytest.skip("APScheduler before 3.11 does not fire twice on that day")

    plain = CronTrigger(hour=2, minute=30, timezone=ZoneInfo("Europe/Berlin"))
    times = fire_times(plain, datetime(2026, 10, 24, tzinfo=ZoneInfo("Europe/Berlin")), 3)
    days = [t.astimezone(ZoneInfo("Europe/Berlin")).date() for t in times]
    assert days.count(date(2026, 10, 25)) == 2


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("0-2", "sun,mon,tue"),
        ("*/3", "sun,wed,sat"),
        ("mon-fri", "mon-fri"),
        ("*", "*"),
    ],
)
def test_cron_weekday_numbers_count_from_sunday(field: str, names: str) -> None:
    assert crontab_weekdays(field) == names


def test_weekdays_job_skips_the_weekend() -> None:
    times = fire_times(cron_trigger("0 6 * * 1-5", "UTC"), datetime(2026, 11, 21, tzinfo=UTC), 5)
    assert [t.strftime("%a") for t in times] == ["Mon", "Tue", "Wed", "Thu", "Fri"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[schedule]\nrun = "61 6 * * *"\n', r"schedule\.run: not a cron expression"),
        ('[schedule]\nrun = "every day"\n', r"schedule\.run: not a cron expression.*5 fields"),
        ('[schedule]\nfetch = "0 * * * 9"\n', r"schedule\.fetch: not a cron expression"),
        ("[schedule]\nrun = 630\n", r"schedule\.run: expected str"),
        ('[schedule]\nsend = "0 7 * * *"\n', r"schedule\.send: unknown key"),
        ("[schedule]\nmisfire_grace_time = 0\n", r"schedule\.misfire_grace_time"),
        ('[digest]\ntimezone = "Europe/Berlln"\n', r"digest\.timezone: unknown time zone"),
        ("[storage]\nlock_timeout = -1\n", r"storage\.lock_timeout"),
        ("[storage]\nkeep_days = -3\n", r"storage\.keep_days"),
    ],
)
def test_bad_schedule_settings_name_the_key(
    write_config: Callable[[str], Path], text: str, message: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_cli_exits_2_on_a_bad_cron_expression(write_config: Callable[[str], Path]) -> None:
    path = write_config('[schedule]\nrun = "30 25 * * *"\n')
    result = CliRunner().invoke(main, ["--config", str(path), "schedule"])
    assert result.exit_code == 2
    assert "schedule.run: not a cron expression" in result.output


def test_schedule_next_prints_upcoming_times_in_the_digest_zone(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        '[digest]\ntimezone = "Asia/Tokyo"\n[schedule]\nrun = "30 6 * * *"\nfetch = "0 */6 * * *"\n'
    )
    result = CliRunner().invoke(main, ["--config", str(path), "schedule", "--next", "2"])
    assert result.exit_code == 0, result.output
    assert "run (30 6 * * *):" in result.output and "fetch (0 */6 * * *):" in result.output
    assert result.output.count("06:30:00+09:00") == 2


def test_schedule_without_jobs_is_a_config_error(write_config: Callable[[str], Path]) -> None:
    path = write_config('[schedule]\nrun = ""\n')
    result = CliRunner().invoke(main, ["--config", str(path), "schedule"])
    assert result.exit_code == 2
    assert "every job is empty" in result.output


def test_jobs_coalesce_never_overlap_and_use_the_grace_time(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        '[digest]\ntimezone = "Europe/Berlin"\n'
        '[schedule]\nrun = "30 6 * * *"\nfetch = "0 */2 * * *"\nmisfire_grace_time = 7200\n'
    )
    settings = load_config(path)
    scheduler = schedule.build_scheduler(settings, scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"run", "fetch"}
        for job in jobs.values():
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == 7200
            assert str(job.trigger.timezone) == "Europe/Berlin"
        # One worker thread: the fetch and run jobs never overlap either.
        assert scheduler._lookup_executor("default")._pool._max_workers == 1
        now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
        berlin = ZoneInfo("Europe/Berlin")
        assert dict(schedule.next_runs(scheduler, now=now)) == {
            "run (30 6 * * *)": datetime(2026, 11, 24, 6, 30, tzinfo=berlin),
            "fetch (0 */2 * * *)": datetime(2026, 11, 23, 8, 0, tzinfo=berlin),
        }
    finally:
        scheduler.shutdown(wait=False)


def test_a_failing_job_is_logged_and_does_not_raise(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    calls: list[str] = []

    def broken(_settings: object) -> RunSummary:
        calls.append("broken")
        raise StorageError("database x: disk I/O error")

    def buggy(_settings: object) -> RunSummary:
        calls.append("buggy")
        raise ZeroDivisionError("oops")

    monkeypatch.setitem(schedule.JOBS, "run", schedule.JobKind("broken", broken))
    monkeypatch.setitem(schedule.JOBS, "fetch", schedule.JobKind("buggy", buggy))
    settings = load_config(None, cwd=tmp_path)
    with caplog.at_level(logging.INFO, logger="aggregator._app.schedule"):
        assert schedule.run_job("run", settings) is False
        assert schedule.run_job("fetch", settings) is False
        assert schedule.run_job("run", settings) is False
    assert calls == ["broken", "buggy", "broken"]
    assert "run: failed: database x: disk I/O error" in caplog.text
    assert "fetch: failed with an unexpected error" in caplog.text


def test_a_job_runs_the_pipeline_and_logs_a_summary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_config(None, cwd=tmp_path)
    with caplog.at_level(logging.INFO, logger="aggregator._app.schedule"):
        assert schedule.run_job("run", settings) is True
    assert "run: done: 6 sources, 42 new" in caplog.text
    assert (tmp_path / "public" / "feeds" / "all.atom").is_file()


def test_the_scheduler_process_logs_next_runs_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text('[schedule]\nrun = "30 6 * * *"\nfetch = "*/5 * * * *"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from aggregator._app.cli import main; main()", "schedule"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if sum("next run at" in seen for seen in lines) == 2:
            break
    process.send_signal(signal.SIGTERM)
    _out, rest = process.communicate(timeout=30)
    log = "".join(lines) + rest
    assert process.returncode == 0, log
    assert "run (30 6 * * *): next run at" in log
    assert "SIGTERM: stopping" in log
    assert "scheduler stopped" in log
