"""Unsubscribe mail read straight from an IMAP folder (`subscribers read-imap`).

A real Dovecot server on 127.0.0.1 (tests/imapserver.py) holds the requests, put there
with IMAP APPEND as a mail server delivers them; the digests that carry the mailto links
go through aiosmtpd on 127.0.0.1, and the database is a SQLite file.
"""

from __future__ import annotations

import imaplib
import re
import shutil
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import imapserver
import pytest
from click.testing import CliRunner
from smtpserver import LIST_DAY, SmtpServer
from test_unsubscribe import configure

from aggregator import Aggregator, load_config
from aggregator._app.cli import EXIT_CONFIG, main
from aggregator.config.imap import parse_url
from aggregator.errors import ConfigError

USER = "unsubscribe"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def _start(tls: bool = False) -> Iterator[tuple[imapserver.ImapServer, Path]]:
    imapserver.require()
    # Its own folder under /tmp: Dovecot's unprivileged processes must reach it.
    folder = Path(tempfile.mkdtemp(prefix="aggregator-imap-"))
    try:
        yield imapserver.start(folder, tls=tls), folder
    finally:
        imapserver.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def imap() -> Iterator[imapserver.ImapServer]:
    for server, _ in _start():
        yield server


@pytest.fixture
def imap_tls() -> Iterator[imapserver.ImapServer]:
    for server, _ in _start(tls=True):
        yield server


def with_imap(config: Path, url: str) -> Path:
    text = config.read_text().replace(
        "[email]\n",
        f'[email]\nunsubscribe_imap = "{url}"\nunsubscribe_imap_password_env = "TEST_IMAP_PW"\n',
        1,
    )
    config.write_text(text)
    return config


def invoke(config: Path, *args: str, password: str | None = imapserver.PASSWORD) -> tuple[int, str]:
    env = {"TEST_IMAP_PW": password} if password is not None else {"TEST_IMAP_PW": ""}
    result = CliRunner().invoke(main, ["--config", str(config), *args], env=env)
    return result.exit_code, result.output


def deliver(port: int, *messages: tuple[EmailMessage, bool]) -> None:
    """Put ``messages`` in the user's INBOX, each read (\\Seen) or not, as delivered."""
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(USER, imapserver.PASSWORD)
    for message, seen in messages:
        client.append("INBOX", r"(\Seen)" if seen else None, None, message.as_bytes())
    client.logout()


def unseen(port: int) -> int:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(USER, imapserver.PASSWORD)
    client.select("INBOX", readonly=True)
    found = client.search(None, "UNSEEN")[1][0].split()
    client.logout()
    return len(found)


def request(sender: str, subject: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "unsubscribe@example.org"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content("")
    return message


def subjects(config: Path, smtp: SmtpServer) -> dict[str, str]:
    """Each subscriber's mailto subject ("unsubscribe TOKEN"), from the digests they got."""
    code, output = invoke(config, "run", "--date", LIST_DAY)
    assert code == 0, output
    found = {}
    for received in smtp.received:
        mailto = re.findall(r"<(mailto:[^>]*)>", received.message["List-Unsubscribe"])[0]
        found[received.rcpt_tos[0]] = mailto.partition("subject=")[2].replace("%20", " ")
    return found


def test_requests_in_an_imap_folder_are_recorded_and_marked_read(
    tmp_path: Path, smtp: SmtpServer, imap: imapserver.ImapServer
) -> None:
    config = with_imap(configure(tmp_path, smtp.port), f"imap://{USER}@127.0.0.1:{imap.port}/")
    asked = subjects(config, smtp)
    deliver(
        imap.port,
        (request("Zhang <zhang.alias@example.net>", asked["zh@example.org"], "<r1@x>"), False),
        (request("mallory@example.com", "unsubscribe " + "A" * 32, "<r2@x>"), False),
        # Read by someone already: left alone unless --all.
        (request("cl@example.org", asked["cl@example.org"], "<r3@x>"), True),
    )
    code, output = invoke(config, "subscribers", "read-imap", "--dry-run")
    assert code == 0, output
    assert "would unsubscribe zh@example.org" in output and unseen(imap.port) == 2
    assert not Aggregator(load_config(config)).unsubscribes()

    code, output = invoke(config, "subscribers", "read-imap")
    assert code == 0, output
    assert "unsubscribed zh@example.org (token;" in output
    assert "ignored mallory@example.com" in output
    assert "2 messages, 1 unsubscribes recorded" in output
    assert set(Aggregator(load_config(config)).unsubscribes()) == {"zh@example.org"}
    assert unseen(imap.port) == 0
    # The next read finds nothing new; --all reads the older one too.
    assert "0 messages, 0 unsubscribes" in invoke(config, "subscribers", "read-imap")[1]
    code, output = invoke(config, "subscribers", "read-imap", "--all")
    assert "already unsubscribed zh@example.org" in output
    assert "unsubscribed cl@example.org" in output
    assert set(Aggregator(load_config(config)).unsubscribes()) == {
        "zh@example.org",
        "cl@example.org",
    }
    # And the next send leaves them out.
    code, output = invoke(config, "subscribers", "list")
    assert output.count("unsubscribed") >= 2, output


def test_a_wrong_password_or_no_server_says_which_mailbox(
    tmp_path: Path, smtp: SmtpServer, imap: imapserver.ImapServer
) -> None:
    config = with_imap(configure(tmp_path, smtp.port), f"imap://{USER}@127.0.0.1:{imap.port}/")
    code, output = invoke(config, "subscribers", "read-imap", password="wrong")
    assert code != 0 and "Traceback" not in output
    assert f"IMAP mailbox imap://{USER}@127.0.0.1:{imap.port}/INBOX" in output
    assert "login or select refused" in output
    code, output = invoke(config, "subscribers", "read-imap", password=None)
    assert code == EXIT_CONFIG and "TEST_IMAP_PW is not set" in output
    with_imap(configure(tmp_path, smtp.port), f"imap://{USER}@127.0.0.1:{imap.port}/Nope")
    code, output = invoke(config, "subscribers", "read-imap")
    assert code != 0 and "cannot open folder 'Nope'" in output, output
    closed = imapserver._free_port()
    with_imap(configure(tmp_path, smtp.port), f"imap://{USER}@127.0.0.1:{closed}/")
    code, output = invoke(config, "subscribers", "read-imap")
    assert code != 0 and "cannot connect" in output and "Traceback" not in output


def test_starttls_and_imaps_verify_the_certificate(
    tmp_path: Path,
    smtp: SmtpServer,
    imap_tls: imapserver.ImapServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = configure(tmp_path, smtp.port)
    subjects(base, smtp)
    deliver(imap_tls.port, (request("x@example.com", "unsubscribe", "<r@x>"), False))
    starttls = f"imap://{USER}@127.0.0.1:{imap_tls.port}/INBOX"
    config = with_imap(base, starttls)
    # A self-signed certificate nobody trusts: refused, nothing read.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
    code, output = invoke(config, "subscribers", "read-imap")
    assert code != 0 and "CERTIFICATE_VERIFY_FAILED" in output.replace(" ", "_").upper()
    assert unseen(imap_tls.port) == 1
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_tls.certificate))
    code, output = invoke(config, "subscribers", "read-imap")
    assert code == 0 and "1 messages, 0 unsubscribes recorded" in output, output
    deliver(imap_tls.port, (request("y@example.com", "unsubscribe", "<s@x>"), False))
    imaps = f"imaps://{USER}@127.0.0.1:{imap_tls.tls_port}/INBOX"
    config = with_imap(configure(tmp_path, smtp.port), imaps)
    code, output = invoke(config, "subscribers", "read-imap")
    assert code == 0 and "1 messages, 0 unsubscribes recorded" in output, output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://u@example.org/", "must start with imaps:// or imap://"),
        ("imaps://example.org/INBOX", "names no user"),
        ("imaps://u:secret@example.org/", "must not hold the password"),
        ("imaps://u@example.org:99999/", "bad port"),
        ("imaps://u@example.org/Boîte", "plain ASCII folder"),
    ],
)
def test_a_wrong_imap_url_is_a_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_url(url, key="email.unsubscribe_imap")


def test_the_url_and_its_password_variable_go_together(tmp_path: Path, smtp: SmtpServer) -> None:
    config = configure(tmp_path, smtp.port)
    text = config.read_text().replace("[email]\n", '[email]\nunsubscribe_imap = "imaps://u@h/"\n')
    config.write_text(text)
    with pytest.raises(ConfigError, match="go together") as caught:
        load_config(config)
    assert "email.unsubscribe_imap_password_env" in str(caught.value)
    box = parse_url("imaps://Un%40sub@mail.example.org/Lists%20In")
    assert (box.user, box.host, box.port, box.folder) == (
        "Un@sub",
        "mail.example.org",
        993,
        "Lists In",
    )
