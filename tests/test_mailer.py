"""The SMTP transaction against a real server on 127.0.0.1: nothing is delivered
until the final dot, and the caller decides just before it."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from smtpserver import SmtpServer

from aggregator._mail.smtp import SmtpMailer, dot_stuffed
from aggregator.config.mail import EmailSettings
from aggregator.config.settings import load_config
from aggregator.errors import StorageError

MESSAGE = (
    b"From: digest@example.org\r\nTo: a@example.org\r\nSubject: test\r\n\r\n"
    b"first line\r\n.a line starting with a dot\r\n.\r\nlast line\r\n"
)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


@pytest.fixture
def settings(tmp_path: Path, server: SmtpServer) -> EmailSettings:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\n'
        'from = "digest@example.org"\ntimeout = 5\n'
    )
    email = load_config(path).email
    assert email is not None
    return email


class _Recorder(socketserver.StreamRequestHandler):
    """A minimal SMTP responder that keeps every line it reads, as it reads it."""

    lines: list[bytes]

    def handle(self) -> None:
        self.wfile.write(b"220 recorder\r\n")
        in_data = False
        for line in self.rfile:
            self.lines.append(line)
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.wfile.write(b"250 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def send(mailer: SmtpMailer, before_end: Callable[[], bool]) -> object:
    return mailer.send(
        "digest@example.org", "a@example.org", MESSAGE, smtputf8=False, before_end=before_end
    )


def test_dot_stuffing_and_line_ends() -> None:
    assert dot_stuffed(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n"
    assert dot_stuffed(b"") == b"\r\n"


def test_the_message_arrives_whole_once_before_end_says_yes(
    server: SmtpServer, settings: EmailSettings
) -> None:
    calls: list[int] = []

    def before_end() -> bool:
        # Called once the server has everything but the end: nothing delivered yet.
        calls.append(len(server.received))
        return True

    mailer = SmtpMailer(settings, None)
    try:
        reply = send(mailer, before_end)
    finally:
        mailer.close()
    assert calls == [0]
    assert reply is not None and getattr(reply, "code", None) == 250
    (received,) = server.received
    assert received.data.replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")


def test_a_no_before_the_end_delivers_nothing_and_the_next_message_goes_out(
    server: SmtpServer, settings: EmailSettings
) -> None:
    mailer = SmtpMailer(settings, None)
    try:
        assert send(mailer, lambda: False) is None
        assert server.received == []
        assert server.handler.rcpt_attempts == {"a@example.org": 1}
        assert send(mailer, lambda: True) is not None
    finally:
        mailer.close()
    assert len(server.received) == 1


def test_an_error_before_the_end_delivers_nothing(
    server: SmtpServer, settings: EmailSettings
) -> None:
    def failing() -> bool:
        raise StorageError("database is locked")

    mailer = SmtpMailer(settings, None)
    try:
        with pytest.raises(StorageError):
            send(mailer, failing)
        assert send(mailer, lambda: True) is not None
    finally:
        mailer.close()
    # Only the second message: the first never ended, and never became part of it.
    (received,) = server.received
    assert received.data.count(b"first line") == 1


def test_before_end_runs_when_the_server_has_all_but_the_final_dot(
    settings: EmailSettings,
) -> None:
    # The delivery log's "sending" must cover as little as possible: only the final
    # dot and the server's reply to it. So the body is on the server's side first.
    lines: list[bytes] = []
    handler = type("Handler", (_Recorder,), {"lines": lines})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        seen: list[bytes] = []

        def before_end() -> bool:
            deadline = time.monotonic() + 5
            while b"last line\r\n" not in lines and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.extend(lines)
            return True

        mailer = SmtpMailer(replace(settings, smtp_port=port), None)
        try:
            reply = send(mailer, before_end)
        finally:
            mailer.close()
            server.shutdown()
    assert b"DATA\r\n" in seen and b"..a line starting with a dot\r\n" in seen
    assert seen[-1] == b"last line\r\n", "the whole body, and not the end"
    assert lines[len(seen)] == b".\r\n"
    assert reply is not None and getattr(reply, "text", None) == "queued"
