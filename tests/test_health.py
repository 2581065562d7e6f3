"""The pure rules of source health: rests, backoff, and ok / quiet / stale / failing / gone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from aggregator._fetch import health
from aggregator._fetch.health import FetchState, judge
from aggregator.config.settings import FetchSettings, load_config
from aggregator.errors import ConfigError, FetchError, GoneError

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
SETTINGS = FetchSettings(timeout=60, max_bytes=1, backoff_base=1800, backoff_max=86400)


@pytest.mark.parametrize(
    ("failures", "hours"), [(1, 0.5), (2, 1), (3, 2), (6, 16), (7, 24), (50, 24)]
)
def test_backoff_doubles_up_to_its_cap(failures: int, hours: float) -> None:
    assert health.backoff(failures, SETTINGS) == timedelta(hours=hours)


def test_a_failure_rests_the_source_and_a_success_clears_it() -> None:
    state = FetchState("a", "https://x/")
    failed = health.after_failure(
        state,
        FetchError("HTTP 500", source="a", status=500),
        failures=3,
        now=NOW,
        settings=SETTINGS,
    )
    assert failed.next_attempt == NOW + timedelta(hours=2) and failed.next_reason == "backoff"
    assert health.skip_reason(failed, NOW + timedelta(hours=1), failures=3) is not None
    # Within the grace period a daily cron job starting a little early still fetches.
    assert (
        health.skip_reason(failed, NOW + timedelta(hours=2) - timedelta(minutes=2), failures=3)
        is None
    )
    ok = health.after_success(failed, status=200, etag='"e"', last_modified=None, moved_to=None)
    assert ok.next_attempt is None and ok.etag == '"e"'
    assert health.skip_reason(ok, NOW, failures=0) is None


def test_retry_after_is_honoured_exactly_and_capped() -> None:
    state = FetchState("a", "https://x/")
    asked = NOW + timedelta(hours=1)
    failed = health.after_failure(
        state,
        FetchError("HTTP 429", source="a", status=429, retry_after=asked),
        failures=1,
        now=NOW,
        settings=SETTINGS,
    )
    assert failed.next_attempt == asked
    assert health.skip_reason(failed, asked - timedelta(seconds=1), failures=1)
    assert health.skip_reason(failed, asked, failures=1) is None
    absurd = FetchError("x", source="a", status=503, retry_after=NOW + timedelta(days=400))
    capped = health.after_failure(state, absurd, failures=1, now=NOW, settings=SETTINGS)
    assert capped.next_attempt == NOW + timedelta(days=7)


def test_gone_lasts_until_the_configured_url_changes() -> None:
    state = health.after_failure(
        FetchState("a", "https://x/old"),
        GoneError("HTTP 410", source="a", status=410),
        failures=1,
        now=NOW,
        settings=SETTINGS,
    )
    assert "410" in str(health.skip_reason(state, NOW + timedelta(days=365), failures=1))
    assert health.state_for("https://x/old", "a", state) is state
    fresh = health.state_for("https://x/new", "a", state)
    assert fresh.disabled_reason is None and health.skip_reason(fresh, NOW, failures=1) is None


def _days(*offsets: int) -> list[date]:
    return [NOW.date() - timedelta(days=offset) for offset in offsets]


def _judge(days: list[date], **kwargs: object) -> str:
    values: dict[str, object] = {
        "enabled": True,
        "last_attempt": NOW,
        "consecutive_failures": 0,
        "state": None,
        "new_entry_days": days,
        "now": NOW,
    }
    values.update(kwargs)
    return judge(**values).flag  # type: ignore[arg-type]


def test_a_daily_source_silent_for_a_week_is_stale() -> None:
    assert _judge(_days(7, 8, 9, 10, 11, 12)) == health.STALE


def test_a_weekly_source_silent_for_a_week_is_only_quiet() -> None:
    assert _judge(_days(8, 15, 22, 29)) == health.QUIET
    assert _judge(_days(22, 29, 36, 43)) == health.STALE


def test_a_source_with_entries_today_is_ok_and_a_young_one_cannot_be_stale() -> None:
    assert _judge(_days(0, 1, 2)) == health.OK
    assert _judge(_days(40)) == health.QUIET
    assert _judge([]) == health.QUIET


def test_failing_gone_and_rate_limited_are_told_apart() -> None:
    assert _judge(_days(0), consecutive_failures=2) == health.FAILING
    gone = FetchState("a", "https://x/", disabled_reason="gone: HTTP 410")
    assert _judge(_days(0), consecutive_failures=1, state=gone) == health.GONE
    limited = FetchState("a", "https://x/", next_reason="retry-after")
    assert _judge(_days(0), consecutive_failures=1, state=limited) == health.RATE_LIMITED
    assert _judge([], last_attempt=None) == health.NEW
    assert _judge(_days(0), enabled=False) == health.DISABLED


@pytest.mark.parametrize(
    ("fetch", "message"),
    [
        ("per_host = 0", r"fetch\.per_host: must be positive"),
        ("min_interval = 3", r"fetch\.min_interval: expected dict"),
        ('min_interval = { "a.org" = "3" }', r"fetch\.min_interval\.a\.org: expected int"),
        ('min_interval = { "a.org" = -1 }', r"fetch\.min_interval\.a\.org: must not be negative"),
        ("backoff_max = -5", r"fetch\.backoff_max: must not be negative"),
        ("read_timeout = 0", r"fetch\.read_timeout: must be positive"),
    ],
)
def test_bad_fetch_settings_name_the_key(tmp_path: Path, fetch: str, message: str) -> None:
    path = tmp_path / "a.toml"
    path.write_text(f"[fetch]\n{fetch}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_fetch_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[fetch]\nper_host = 4\nmin_interval = { "Export.arXiv.org" = 3 }\n')
    settings = load_config(path).fetch
    assert settings.per_host == 4 and settings.interval_for("export.arxiv.org") == 3.0
    assert settings.interval_for("example.org") == 0.0
    assert load_config(None, cwd=tmp_path).fetch.interval_for("export.arxiv.org") == 3.0
