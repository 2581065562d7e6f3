"""``run`` finishes the deliveries earlier days left: within ``[email] resume_days``,
one attempt each, only to the subscribers that day planned. Real SMTP server on
127.0.0.1, real SQLite files, fixed dates."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from smtpserver import CRASH_DAY, CRASH_SUBSCRIBERS, NEXT_DAY, SmtpServer, mail_site

from aggregator._app import schedule
from aggregator._app.cli import main
from aggregator._storage.sqlite import Store
from aggregator._storage.sqlite.deliveries import EMPTY, FAILED_TEMPORARY, SENT
from aggregator.config.settings import Settings, load_config
from aggregator.core import RunSummary, days_to_finish, run

ALPHA, BETA, EVERYONE = CRASH_SUBSCRIBERS
GREYLISTED = "451 4.7.1 greylisted, try again later"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def site(tmp_path: Path, server: SmtpServer, email: str = "", max_retries: int = 0) -> Settings:
    folder = mail_site(tmp_path / "site", server.port, email=email, max_retries=max_retries)
    return load_config(folder / "aggregator.toml")


def run_on(settings: Settings, day: str) -> RunSummary:
    when = date.fromisoformat(day)
    now = datetime.combine(when, time(7, 30), UTC)
    return run(settings, clock=lambda: now, run_date=when, do_send=True)


def log_of(settings: Settings, day: str) -> dict[str, tuple[str, int]]:
    with Store(settings.storage.database) as store:
        rows = store.deliveries_for_day(date.fromisoformat(day))
    return {name: (row.state, row.attempts) for name, row in rows.items()}


def later(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def test_a_temporary_failure_is_finished_by_the_next_days_run(
    tmp_path: Path, server: SmtpServer
) -> None:
    settings = site(tmp_path, server)
    server.handler.fail[BETA] = [GREYLISTED]
    first = run_on(settings, CRASH_DAY)
    assert first.delivery is not None and not first.delivery.ok
    assert log_of(settings, CRASH_DAY)[BETA] == (FAILED_TEMPORARY, 1)

    second = run_on(settings, NEXT_DAY)
    (resumed,) = second.resumed
    assert resumed.day == CRASH_DAY and resumed.resumed and resumed.ok
    assert [(r.subscriber, r.outcome) for r in resumed.results] == [(BETA, SENT)]
    assert second.delivery is not None and second.delivery.count(EMPTY) == 3
    assert [str(r.message["Subject"]) for r in server.handler.to(BETA)] == [
        f"Daily digest {CRASH_DAY}: 5 new in beta"
    ]
    assert log_of(settings, CRASH_DAY)[BETA] == (SENT, 2)
    assert len(server.received) == 3
    assert second.as_dict()["resumed"] == [
        {"day": CRASH_DAY, "sent": 1, "failed": {}, "unconfirmed": [], "error": None}
    ]


def test_a_resumed_day_gets_one_attempt_per_run_and_the_run_reports_it(
    tmp_path: Path, server: SmtpServer
) -> None:
    settings = site(tmp_path, server, max_retries=3)
    server.handler.fail[BETA] = [GREYLISTED] * 5
    run_on(settings, CRASH_DAY)
    assert server.handler.rcpt_attempts[BETA] == 4, "the day's own send retries"

    second = run_on(settings, NEXT_DAY)
    assert server.handler.rcpt_attempts[BETA] == 5, "a resumed day is tried once"
    (resumed,) = second.resumed
    assert [(r.subscriber, r.outcome) for r in resumed.problems] == [(BETA, FAILED_TEMPORARY)]
    assert log_of(settings, CRASH_DAY)[BETA] == (FAILED_TEMPORARY, 5)

    third = run_on(settings, later(CRASH_DAY, 2))
    assert third.resumed[0].ok and len(server.handler.to(BETA)) == 1


def test_days_before_the_window_are_left_alone(tmp_path: Path, server: SmtpServer) -> None:
    settings = site(tmp_path, server, email="resume_days = 1")
    server.handler.fail[BETA] = [GREYLISTED]
    run_on(settings, CRASH_DAY)
    # Two days later the day is outside a 1-day window: nothing is tried for it.
    summary = run_on(settings, later(CRASH_DAY, 2))
    assert summary.resumed == []
    assert server.handler.rcpt_attempts[BETA] == 1
    assert log_of(settings, CRASH_DAY)[BETA] == (FAILED_TEMPORARY, 1)


def test_resume_days_0_only_sends_the_runs_day(tmp_path: Path, server: SmtpServer) -> None:
    settings = site(tmp_path, server, email="resume_days = 0")
    server.handler.fail[BETA] = [GREYLISTED]
    run_on(settings, CRASH_DAY)
    assert run_on(settings, NEXT_DAY).resumed == []
    assert server.handler.rcpt_attempts[BETA] == 1


def test_a_subscriber_added_later_does_not_get_an_earlier_days_digest(
    tmp_path: Path, server: SmtpServer
) -> None:
    settings = site(tmp_path, server)
    server.handler.fail[BETA] = [GREYLISTED]
    run_on(settings, CRASH_DAY)
    config = settings.origin
    assert config is not None
    path = Path(config)
    path.write_text(path.read_text() + '[[subscribers]]\nemail = "new@example.org"\n')
    settings = load_config(path)
    summary = run_on(settings, NEXT_DAY)
    assert [r.subscriber for r in summary.resumed[0].results] == [BETA]
    assert server.handler.to("new@example.org") == []
    assert "new@example.org" not in log_of(settings, CRASH_DAY)


def test_days_to_finish_names_the_unfinished_subscribers_of_each_day(
    tmp_path: Path, server: SmtpServer
) -> None:
    settings = site(tmp_path, server)
    server.handler.refuse[ALPHA] = "550 5.1.1 no such user"
    server.handler.fail[BETA] = [GREYLISTED]
    run_on(settings, CRASH_DAY)
    with Store(settings.storage.database) as store:
        # A permanent refusal is the admin's to retry (send --retry-failed), not a run's.
        assert days_to_finish(settings, store, date.fromisoformat(NEXT_DAY)) == {
            date.fromisoformat(CRASH_DAY): {BETA}
        }
        assert days_to_finish(settings, store, date.fromisoformat(CRASH_DAY)) == {}


def test_status_lists_subscribers_not_served_on_earlier_days(
    tmp_path: Path, server: SmtpServer
) -> None:
    settings = site(tmp_path, server, email="resume_days = 1")
    server.handler.fail[BETA] = [GREYLISTED] * 2
    run_on(settings, CRASH_DAY)
    run_on(settings, NEXT_DAY)
    result = CliRunner().invoke(main, ["--config", str(settings.origin), "status"])
    assert result.exit_code == 1
    assert f"Last deliveries ({NEXT_DAY})" in result.output
    assert "Not served on earlier days" in result.output
    lines = result.output.splitlines()
    (at,) = [number for number, line in enumerate(lines) if "451 4.7.1" in line]
    # The server's reply is on the line below its row.
    row = lines[at - 1]
    assert CRASH_DAY in row and BETA in row and FAILED_TEMPORARY in row
    assert f"1 subscriber not served for {CRASH_DAY}: {BETA} (failed-temporary)" in (result.output)


def test_the_scheduler_logs_subscribers_not_served(
    tmp_path: Path,
    server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = site(tmp_path, server)
    server.handler.refuse[BETA] = "550 5.1.1 no such user"
    job = schedule.JobKind("run on a fixed day", lambda s: run_on(s, CRASH_DAY))
    monkeypatch.setitem(schedule.JOBS, "run", job)
    with caplog.at_level(logging.INFO, logger="aggregator._app.schedule"):
        schedule.run_job("run", settings)
    assert f"run: email {CRASH_DAY} to {BETA} failed-permanent: recipient {BETA} refused: 550" in (
        caplog.text
    )
