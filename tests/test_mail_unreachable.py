"""An SMTP server that cannot be reached, through the real CLI: said at once with the
server, the port and what to check; tried again a few times for everybody at once,
each wait announced; the run ends within seconds with exit 1; a later run with the
server up delivers each message exactly once."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from smtpserver import CRASH_DAY, CRASH_SUBSCRIBERS, NEXT_DAY, SmtpServer, free_port, mail_site

from aggregator._app.cli import main
from aggregator._mail.deliver import CONNECT_RETRY_DELAYS

pytestmark = pytest.mark.slow  # real processes, kills or timeouts: `-m "not slow"` skips

#: (host, port) pairs whose connection attempts are counted, and the attempts seen.
_WATCHED: set[tuple[str, int]] = set()
_CONNECTS: list[tuple[str, int]] = []
_HOOKED: list[bool] = []


def _count_connects(event: str, args: tuple[object, ...]) -> None:
    # The interpreter's audit event for every socket.connect(): the attempts this
    # process really made, whatever library made them.
    if event == "socket.connect" and args[1] in _WATCHED:
        _CONNECTS.append(args[1])  # type: ignore[arg-type]


@pytest.fixture
def closed_port() -> Iterator[int]:
    if not _HOOKED:  # on first use only: an audit hook cannot be removed
        sys.addaudithook(_count_connects)
        _HOOKED.append(True)
    port = free_port()  # bound and closed again: nothing listens there
    _WATCHED.add(("127.0.0.1", port))
    _CONNECTS.clear()
    yield port
    _WATCHED.discard(("127.0.0.1", port))


def site_with_default_retries(folder: Path, port: int) -> Path:
    """mail_site with [email] backoff and max_retries left at their defaults (30 s, 3)."""
    mail_site(folder, port)
    config = folder / "aggregator.toml"
    text = config.read_text().replace("backoff = 0\n", "").replace("max_retries = 0\n", "")
    config.write_text(text)
    return config


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_a_refused_connection_is_said_at_once_and_the_run_ends_within_seconds(
    tmp_path: Path, closed_port: int
) -> None:
    config = site_with_default_retries(tmp_path / "site", closed_port)
    started = time.monotonic()
    result = cli(config, "run", "--date", CRASH_DAY)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    # One attempt, then one per retry, for the three subscribers together.
    assert len(_CONNECTS) == 1 + len(CONNECT_RETRY_DELAYS)
    where = f"127.0.0.1:{closed_port}"
    notices = [line for line in result.output.splitlines() if line.startswith("email: ")]
    assert len(notices) == len(CONNECT_RETRY_DELAYS)
    assert re.fullmatch(
        rf"email: cannot connect to {re.escape(where)} \(connection refused\) \(check the"
        r" server is running and \[email\] smtp_host and smtp_port\); next attempt at"
        r" \d\d:\d\d:\d\d",
        notices[0],
    ), notices[0]
    assert (
        f"error: email: cannot connect to {where} (connection refused) after 3 attempts;"
        f" 3 messages left for the next `run`" in result.output
    )
    assert result.output.count("cannot connect") == len(notices) + 2, "not once per subscriber"
    assert f"Email {CRASH_DAY}: 3 failed (will retry)" in result.output
    assert "Feeds: " in result.output, "the rest of the run was done and reported"
    # Generous: the old silent backoff took 30 + 60 + 120 s.
    assert elapsed < 60

    # The server is up for the next day's run, which finishes the day left unsent.
    server = SmtpServer(port=closed_port).start()
    try:
        later = cli(config, "run", "--date", NEXT_DAY)
        again = cli(config, "run", "--date", NEXT_DAY)
    finally:
        server.stop()
    assert later.exit_code == 0, later.output
    assert f"Email {CRASH_DAY} (left unfinished by an earlier run): 3 sent" in later.output
    assert again.exit_code == 0, again.output
    assert sorted(r.rcpt_tos[0] for r in server.received) == sorted(CRASH_SUBSCRIBERS)


def test_send_with_no_retries_tries_once_and_says_how_to_send_later(
    tmp_path: Path, closed_port: int
) -> None:
    config = mail_site(tmp_path / "site", closed_port) / "aggregator.toml"  # max_retries 0
    assert cli(config, "run", "--date", CRASH_DAY, "--no-send").exit_code == 0
    result = cli(config, "send", "--date", CRASH_DAY)
    assert result.exit_code == 1
    assert len(_CONNECTS) == 1
    assert "next attempt" not in result.output
    assert (
        f"failed: email to 3 subscribers (alpha@example.org, beta@example.org, all@example.org):"
        f" not sent: cannot connect to 127.0.0.1:{closed_port} (connection refused)"
        in result.output
    )
    assert f"`aggregator send --date {CRASH_DAY}`" in result.output
