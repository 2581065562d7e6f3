"""Crash safety of sending: a real ``aggregator run`` mailing three subscribers
through a real SMTP server on 127.0.0.1, killed with SIGKILL while sending, then a
clean rerun.

The kill points are the test hooks of aggregator/_mail/deliver.py: ``send:<address>``
(the server has that message but for its final dot; the log says pending) and
``send-accepted:<address>`` (the server answered 250; the log still says sending).
Every subscriber must end with exactly one message, except in the one window no
client can close: a message the server accepted just before the kill is reported as
unconfirmed and not resent, until the admin says what to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from crashkit import assert_complete, database_state, kill_at, run_to_end
from smtpserver import CRASH_DAY, CRASH_SUBSCRIBERS, NEXT_DAY, SmtpServer, mail_site

pytestmark = pytest.mark.slow  # real processes, kills or timeouts: `-m "not slow"` skips

ALPHA, BETA, EVERYONE = CRASH_SUBSCRIBERS


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def delivery_log(folder: Path, day: str = CRASH_DAY) -> dict[str, str]:
    with sqlite3.connect(folder / "aggregator.db") as conn:
        rows = conn.execute("SELECT subscriber, state FROM deliveries WHERE day = ?", [day])
        states = dict(rows.fetchall())
    conn.close()
    return states


def received(server: SmtpServer) -> dict[str, int]:
    """Messages the server accepted, per subscriber."""
    counts: dict[str, int] = {}
    for message in server.received:
        for address in message.rcpt_tos:
            counts[address] = counts.get(address, 0) + 1
    return counts


def subjects(server: SmtpServer, address: str) -> list[str]:
    return [str(r.message["Subject"]) for r in server.handler.to(address)]


def assert_consistent(folder: Path, statuses: list[str]) -> None:
    """The database is sound and every published file whole and readable."""
    check, found = database_state(folder / "aggregator.db")
    assert check == "ok"
    assert found == statuses
    public = folder / "public"
    assert_complete(public)
    assert not list(public.rglob("*.tmp"))
    feed = feedparser.parse((public / "feeds" / "all.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) == 10
    assert (public / "digests" / CRASH_DAY / "digest.txt").is_file()


@pytest.mark.parametrize("victim", [ALPHA, BETA])
def test_a_run_killed_before_handing_a_message_over_sends_it_on_the_rerun(
    tmp_path: Path, server: SmtpServer, victim: str
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    kill_at(folder, f"send:{victim}")

    served = list(CRASH_SUBSCRIBERS[: CRASH_SUBSCRIBERS.index(victim)])
    # The victim's message was under way (its recipient accepted, the body sent) but
    # never ended, so the server kept nothing of it; the log still says pending.
    assert server.handler.rcpt_attempts[victim] == 1
    assert received(server) == dict.fromkeys(served, 1)
    assert delivery_log(folder) == {
        s: "sent" if s in served else "pending" for s in CRASH_SUBSCRIBERS
    }
    assert_consistent(folder, ["running"])

    result = run_to_end(folder, "run", "--date", CRASH_DAY)
    assert result.returncode == 0, result.stderr
    assert "Recovered: run #1 was interrupted" in result.stdout
    counts = f"{3 - len(served)} sent" + (f", {len(served)} already sent" if served else "")
    assert f"Email {CRASH_DAY}: {counts}" in result.stdout
    assert received(server) == dict.fromkeys(CRASH_SUBSCRIBERS, 1)
    category = victim.partition("@")[0]
    assert subjects(server, victim) == [f"Daily digest {CRASH_DAY}: 5 new in {category}"]
    assert delivery_log(folder) == dict.fromkeys(CRASH_SUBSCRIBERS, "sent")
    assert_consistent(folder, ["interrupted", "ok"])

    status = run_to_end(folder, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"Last deliveries ({CRASH_DAY})" in status.stdout
    for address in CRASH_SUBSCRIBERS:
        assert any(address in line and " sent " in line for line in status.stdout.splitlines())


def test_a_message_accepted_just_before_the_kill_is_reported_and_not_sent_twice(
    tmp_path: Path, server: SmtpServer
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    kill_at(folder, f"send-accepted:{BETA}")
    assert received(server) == {ALPHA: 1, BETA: 1}
    assert delivery_log(folder) == {ALPHA: "sent", BETA: "sending", EVERYONE: "pending"}
    assert_consistent(folder, ["running"])

    for attempt in range(2):  # the rerun, and any run after it, leave beta alone
        result = run_to_end(folder, "run", "--date", CRASH_DAY)
        assert result.returncode == 1, result.stderr
        line = "1 sent, 1 already sent, 1 unconfirmed" if attempt == 0 else "2 already sent"
        assert f"Email {CRASH_DAY}: {line}" in result.stdout
        assert f"  unconfirmed: {BETA}" in result.stdout
        assert f"unconfirmed: email to {BETA}: " in result.stderr
        assert f"Message-ID <digest.{CRASH_DAY}." in result.stderr
        assert f"aggregator send --date {CRASH_DAY} --mark-unconfirmed-sent" in result.stderr
        assert received(server) == dict.fromkeys(CRASH_SUBSCRIBERS, 1)
    assert delivery_log(folder) == {ALPHA: "sent", BETA: "sending", EVERYONE: "sent"}
    assert_consistent(folder, ["interrupted", "partial", "partial"])

    status = run_to_end(folder, "status")
    assert status.returncode == 1
    lines = status.stdout.splitlines()
    deliveries = lines[lines.index(f"Last deliveries ({CRASH_DAY}):") :]
    (at,) = [number for number, line in enumerate(deliveries) if BETA in line]
    # The row, then the server's reply (here: what to look for) on the line below it.
    assert "unconfirmed" in deliveries[at] and "may have arrived" in deliveries[at + 1]
    assert f"1 subscriber not served for {CRASH_DAY}: {BETA} (unconfirmed)" in status.stderr
    assert "--resend-unconfirmed" in status.stderr


@pytest.mark.parametrize("decision", ["--mark-unconfirmed-sent", "--resend-unconfirmed"])
def test_the_admin_decides_what_an_unconfirmed_message_was(
    tmp_path: Path, server: SmtpServer, decision: str
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    kill_at(folder, f"send-accepted:{BETA}")
    assert run_to_end(folder, "run", "--date", CRASH_DAY).returncode == 1

    result = run_to_end(folder, "send", "--date", CRASH_DAY, decision)
    assert result.returncode == 0, result.stderr
    if decision == "--mark-unconfirmed-sent":
        # Found in the server's log: recorded as sent, nothing goes out again.
        assert f"Marked as sent without sending ({CRASH_DAY}): {BETA}" in result.stdout
        assert received(server) == dict.fromkeys(CRASH_SUBSCRIBERS, 1)
    else:
        # Not found: sent again, with the same Message-ID so clients can tell.
        assert received(server)[BETA] == 2
        first, second = (r.message["Message-ID"] for r in server.handler.to(BETA))
        assert first == second
    assert delivery_log(folder) == dict.fromkeys(CRASH_SUBSCRIBERS, "sent")
    status = run_to_end(folder, "status")
    assert status.returncode == 0, status.stderr


def test_a_run_on_the_next_day_finishes_the_deliveries_a_killed_run_left(
    tmp_path: Path, server: SmtpServer
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    kill_at(folder, f"send:{BETA}")
    assert received(server) == {ALPHA: 1}

    result = run_to_end(folder, "run", "--date", NEXT_DAY)
    assert result.returncode == 0, result.stderr
    assert f"Email {CRASH_DAY} (left unfinished by an earlier run): 2 sent" in result.stdout
    assert f"Email {NEXT_DAY}: 3 nothing to send" in result.stdout
    assert received(server) == dict.fromkeys(CRASH_SUBSCRIBERS, 1)
    assert subjects(server, BETA) == [f"Daily digest {CRASH_DAY}: 5 new in beta"]
    assert delivery_log(folder) == dict.fromkeys(CRASH_SUBSCRIBERS, "sent")
    assert_consistent(folder, ["interrupted", "ok"])
    # Nothing is left: the run after that sends nothing more.
    assert run_to_end(folder, "run", "--date", NEXT_DAY).returncode == 0
    assert received(server) == dict.fromkeys(CRASH_SUBSCRIBERS, 1)


@pytest.mark.parametrize("point", ["ingest", "publish:index.html"])
def test_a_run_on_the_next_day_mails_the_digest_a_run_killed_before_sending_never_sent(
    tmp_path: Path, server: SmtpServer, point: str
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    kill_at(folder, point)
    assert server.received == [] and delivery_log(folder) == {}

    result = run_to_end(folder, "run", "--date", NEXT_DAY)
    assert result.returncode == 0, result.stderr
    assert f"Email {CRASH_DAY} (left unfinished by an earlier run): 3 sent" in result.stdout
    assert received(server) == dict.fromkeys(CRASH_SUBSCRIBERS, 1)
    assert subjects(server, EVERYONE) == [f"Daily digest {CRASH_DAY}: 10 new in alpha, beta"]
    assert_consistent(folder, ["interrupted", "ok"])
    assert run_to_end(folder, "run", "--date", NEXT_DAY).returncode == 0
    assert len(server.received) == 3


def test_a_killed_run_that_was_not_to_send_is_not_mailed_later(
    tmp_path: Path, server: SmtpServer
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    kill_at(folder, "publish:index.html", "run", "--date", CRASH_DAY, "--no-send")
    result = run_to_end(folder, "run", "--date", NEXT_DAY)
    assert result.returncode == 0, result.stderr
    assert f"Email {CRASH_DAY}" not in result.stdout
    assert server.received == []
