"""Hostile stored strings and mail: a category with CR/LF, escape sequences in a title.
No header is added, every subscriber still gets exactly one message, the run's summary
is printed, and a message that cannot be composed fails only its own subscriber.
Through the real CLI, a real SMTP server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DATA
from smtpserver import CRASH_DAY, CRASH_SUBSCRIBERS, Received, SmtpServer, mail_site

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store
from aggregator._storage.sqlite.deliveries import FAILED_PERMANENT, SENT

HOSTILE_FEED = DATA / "hostile" / "mail-crlf-category.rss"
EVIL = "evil\r\nBcc: victim@example.org"
#: An OSC sequence (sets a terminal's title) and a clear-screen, as stored.
ESCAPES = "\x1b]0;owned\x07\x1b[2J"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def cli(folder: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(folder / "aggregator.toml"), *args])


def assert_one_clean_message_each(server: SmtpServer) -> list[Received]:
    """Each subscriber got exactly one message, to them only, with no Bcc and no escapes."""
    received = sorted(server.received, key=lambda r: r.rcpt_tos[0])
    assert [r.rcpt_tos for r in received] == [[a] for a in sorted(CRASH_SUBSCRIBERS)]
    for message in received:
        head = message.data.split(b"\r\n\r\n", 1)[0]
        assert not any(line.lower().startswith(b"bcc:") for line in head.split(b"\r\n"))
        parsed = message.message
        assert parsed.get_all("Bcc") is None and parsed.defects == []
        for part in parsed.walk():
            if part.get_content_maintype() == "text":
                body = part.get_content()
                assert "\x1b" not in body and "\x07" not in body, body
    return received


def test_a_crlf_category_from_a_feed_adds_no_header_and_stops_no_mail(
    tmp_path: Path, server: SmtpServer
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    shutil.copy(HOSTILE_FEED, folder / "daily.rss")
    result = cli(folder, "run", "--date", CRASH_DAY)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert f"Email {CRASH_DAY}: 3 sent" in result.output
    everyone = assert_one_clean_message_each(server)[0]
    assert everyone.rcpt_tos == ["all@example.org"]
    assert "victim" not in everyone.mail_from


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_a_stored_category_with_line_breaks_is_mailed_on_one_line(
    tmp_path: Path, server: SmtpServer
) -> None:
    folder = mail_site(tmp_path / "site", server.port)
    assert cli(folder, "run", "--date", CRASH_DAY, "--no-send").exit_code == 0
    # As an older database may hold them: stored before categories were checked.
    with sqlite3.connect(folder / "aggregator.db") as db:
        key = db.execute("SELECT key FROM entries ORDER BY key LIMIT 1").fetchone()[0]
        db.execute(
            "INSERT INTO entry_categories (entry_key, category, source, how, first_seen)"
            " SELECT entry_key, ?, source, how, first_seen FROM entry_categories"
            " WHERE entry_key = ? LIMIT 1",
            [EVIL, key],
        )
        db.execute("UPDATE entries SET title = title || ? WHERE key = ?", [ESCAPES, key])
    result = cli(folder, "send", "--date", CRASH_DAY)
    assert result.exit_code == 0, result.output
    assert f"Email {CRASH_DAY}: 3 sent" in result.output
    received = assert_one_clean_message_each(server)
    everyone = received[0].message
    assert "evil Bcc: victim@example.org" in everyone["Subject"]
    text = everyone.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "== evil Bcc: victim@example.org (1 new) ==" in text


def test_a_message_that_cannot_be_composed_fails_only_its_subscriber(
    tmp_path: Path, server: SmtpServer
) -> None:
    # With the longest mailbox name and domain, percent-encoded into a 390-character
    # unsubscribe URL, the List-Unsubscribe line would pass 998 characters: this one
    # message cannot be written as RFC 5322 requires.
    huge = "用" * 64 + "@" + "例" * 20 + ".测试"
    folder = mail_site(
        tmp_path / "site",
        server.port,
        email=f'unsubscribe_url = "https://example.org/{"u" * 360}?e={{email}}"\n'
        f'[[subscribers]]\nemail = "{huge}"\n',
    )
    result = cli(folder, "run", "--date", CRASH_DAY)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"Email {CRASH_DAY}: 3 sent, 1 failed permanently" in result.output
    assert f"failed: email to {huge}: could not compose the message (ValueError:" in result.output
    assert "over RFC 5322's 998" in result.output and "--retry-failed" in result.output
    assert sorted(r.rcpt_tos[0] for r in server.received) == sorted(CRASH_SUBSCRIBERS)
    with Store(folder / "aggregator.db") as store:
        log = store.deliveries_for_day(date.fromisoformat(CRASH_DAY))
    assert log[huge].state == FAILED_PERMANENT and "could not compose" in str(log[huge].smtp_reply)
    assert {log[a].state for a in CRASH_SUBSCRIBERS} == {SENT}
