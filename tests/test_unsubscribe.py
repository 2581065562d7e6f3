"""Unsubscribing for real: the digest's links, one-click POST to `serve`, an mbox of
requests, the database record, and the next send skipping who left.

Real parts throughout: aiosmtpd on 127.0.0.1 receives the digests, `FeedServer` on
127.0.0.1 answers the links (httpx posts as a mail provider does), an mbox file on
disk holds the mailed requests, and the database is a SQLite file.
"""

from __future__ import annotations

import mailbox
import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import SEEDS
from smtpserver import LIST_DAY, SmtpServer, email_config

from aggregator import Aggregator, load_config
from aggregator._app.cli import EXIT_CONFIG, main
from aggregator._app.serve import FeedServer
from aggregator._mail import unsubscribe
from aggregator._storage.sqlite import Store

URL = "http://127.0.0.1:{port}/unsubscribe?email={{email}}&token={{token}}"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def configure(tmp_path: Path, smtp_port: int, web_port: int = 9) -> Path:
    text = email_config(str(SEEDS), smtp_port).replace(
        'unsubscribe_url = "https://example.org/unsubscribe?email={email}"',
        f'unsubscribe_url = "{URL.format(port=web_port)}"',
    )
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    return result.exit_code, result.output


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[FeedServer, int]]:
    (tmp_path / "public").mkdir()
    feed_server = FeedServer(tmp_path / "public", ("127.0.0.1", 0))
    thread = threading.Thread(target=feed_server.serve_forever, daemon=True)
    thread.start()
    yield feed_server, int(feed_server.server_address[1])
    feed_server.shutdown()
    feed_server.server_close()


def links_of(message: EmailMessage) -> tuple[str, str]:
    url, mailto = re.findall(r"<([^>]*)>", message["List-Unsubscribe"])
    return url, mailto


def test_token_is_per_address_and_keyed() -> None:
    token = unsubscribe.token_for("k" * 32, "Ada@Example.org")
    assert len(token) == 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert unsubscribe.valid("k" * 32, "ada@example.org", token)  # case-insensitive
    assert not unsubscribe.valid("k" * 32, "bob@example.org", token)
    assert not unsubscribe.valid("j" * 32, "ada@example.org", token)


def test_one_click_then_the_next_send_skips_them(
    tmp_path: Path, server: SmtpServer, web: tuple[FeedServer, int]
) -> None:
    feed_server, port = web
    config = configure(tmp_path, server.port, port)
    settings = load_config(config)
    feed_server.unsubscriber = Aggregator(settings)
    code, output = invoke(config, "run", "--date", LIST_DAY)
    assert code == 0, output
    by_rcpt = {r.rcpt_tos[0]: r.message for r in server.received}
    message = by_rcpt["ai@example.org"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, mailto = links_of(message)
    assert url.startswith(f"http://127.0.0.1:{port}/unsubscribe?email=ai@example.org&token=")
    token = url.rpartition("token=")[2]
    assert mailto == f"mailto:unsubscribe@example.org?subject=unsubscribe%20{token}"
    # The footer carries the same link.
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert url.replace("&", "&amp;") in html

    with httpx.Client() as client:
        # Opening the link (a scanner, a person) unsubscribes nobody: a page with a button.
        page = client.get(url)
        assert page.status_code == 200 and "<form" in page.text and 'method="post"' in page.text
        assert "form-action 'self'" in page.headers["Content-Security-Policy"]
        assert Aggregator(settings).unsubscribes() == {}
        # Someone else's token, or none, is refused.
        other = url.replace("email=ai@example.org", "email=cl@example.org")
        assert client.post(other, data={"List-Unsubscribe": "One-Click"}).status_code == 403
        assert client.post(url, data={"something": "else"}).status_code == 400
        # The provider's one-click POST (RFC 8058 3.1), form-encoded.
        done = client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200, done.text
        assert "will receive no more digests" in done.text
        # ... and as multipart/form-data, for another subscriber; twice is harmless.
        cl_url, _ = links_of(by_rcpt["cl@example.org"])
        for _ in range(2):
            multipart = client.post(cl_url, files={"List-Unsubscribe": (None, "One-Click")})
            assert multipart.status_code == 200, multipart.text
    left = Aggregator(settings).unsubscribes()
    assert set(left) == {"ai@example.org", "cl@example.org"}
    assert left["ai@example.org"].via == "one-click"

    # The next send leaves them out (a dry run composes everybody's message afresh).
    outbox = tmp_path / "outbox"
    code, output = invoke(config, "send", "--date", LIST_DAY, "--dry-run", "--outbox", str(outbox))
    assert code == 0, output
    assert "unsubscribed: ai@example.org: on " in output and "(one-click)" in output
    assert "unsubscribed: cl@example.org" in output
    assert sorted(p.name for p in outbox.iterdir()) == ["zh@example.org.eml"]
    code, output = invoke(config, "subscribers", "list")
    assert code == 0
    assert re.search(r"ai@example\.org.*no: unsubscribed \d{4}-\d\d-\d\d", output)


def test_the_mailto_variant_from_an_mbox(tmp_path: Path, server: SmtpServer) -> None:
    config = configure(tmp_path, server.port)
    code, output = invoke(config, "run", "--date", LIST_DAY)
    assert code == 0, output
    by_rcpt = {r.rcpt_tos[0]: r.message for r in server.received}
    _, mailto = links_of(by_rcpt["zh@example.org"])
    subject = mailto.partition("subject=")[2].replace("%20", " ")
    box = mailbox.mbox(tmp_path / "unsubscribe.mbox")
    # The request as a mail client writes it from the mailto link: sent from an alias.
    request = EmailMessage()
    request["From"] = "Zhang San <zhang.alias@example.net>"
    request["To"] = "unsubscribe@example.org"
    request["Subject"] = subject
    request["Message-ID"] = "<req-1@example.net>"
    request.set_content("")
    box.add(request)
    # From a subscriber but without the token: not proof enough by default.
    bare = EmailMessage()
    bare["From"] = "cl@example.org"
    bare["Subject"] = "unsubscribe"
    bare.set_content("please stop")
    box.add(bare)
    forged = EmailMessage()
    forged["From"] = "mallory@example.com"
    forged["Subject"] = "unsubscribe " + "A" * 32  # a token of the right shape, not valid
    forged.set_content("")
    box.add(forged)
    box.flush()
    box.close()

    code, output = invoke(config, "subscribers", "read-mbox", str(tmp_path / "unsubscribe.mbox"))
    assert code == 0, output
    assert "unsubscribed zh@example.org (token;" in output
    assert "ignored cl@example.org: unsubscribe (no valid token (from a subscriber" in output
    assert "ignored mallory@example.com" in output
    assert "3 messages, 1 unsubscribes recorded" in output
    settings = load_config(config)
    assert set(Aggregator(settings).unsubscribes()) == {"zh@example.org"}
    code, output = invoke(
        config, "subscribers", "read-mbox", "--trust-from", str(tmp_path / "unsubscribe.mbox")
    )
    assert "already unsubscribed zh@example.org" in output
    assert set(Aggregator(settings).unsubscribes()) == {"zh@example.org", "cl@example.org"}
    missing = invoke(config, "subscribers", "read-mbox", str(tmp_path / "nope.mbox"))
    assert missing[0] != 0 and "no such mbox file" in missing[1]


def test_subscribers_add_and_remove_edit_the_config(tmp_path: Path, server: SmtpServer) -> None:
    config = configure(tmp_path, server.port)
    code, output = invoke(config, "subscribers", "add", "New@Example.ORG", "--category", "cs.AI")
    assert code == 0, output
    emails = [s.email for s in load_config(config).subscribers]
    assert "New@example.org" in emails
    assert invoke(config, "subscribers", "add", "new@example.org")[0] == EXIT_CONFIG
    assert invoke(config, "subscribers", "add", "not-an-address")[0] == EXIT_CONFIG
    code, output = invoke(config, "subscribers", "remove", "cl@example.org")
    assert code == 0, output
    emails = [s.email for s in load_config(config).subscribers]
    assert "cl@example.org" not in emails and "ai@example.org" in emails
    assert invoke(config, "subscribers", "remove", "cl@example.org")[0] == EXIT_CONFIG
    # Adding back someone who unsubscribed lets the digest resume, and says so.
    invoke(config, "run", "--date", LIST_DAY, "--no-send")
    Aggregator(load_config(config)).unsubscribe("zh@example.org", token=None, via="cli")
    invoke(config, "subscribers", "remove", "zh@example.org")
    code, output = invoke(config, "subscribers", "add", "zh@example.org")
    assert "had unsubscribed; that is forgotten" in output
    assert Aggregator(load_config(config)).unsubscribes() == {}


def test_the_generated_key_is_kept_and_a_configured_one_wins(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configure(tmp_path, server.port)
    invoke(config, "run", "--date", LIST_DAY, "--no-send")
    settings = load_config(config)
    first = Aggregator(settings).unsubscribe_token("ai@example.org")
    assert Aggregator(settings).unsubscribe_token("ai@example.org") == first
    with Store(settings.storage.database) as store:
        assert unsubscribe.valid(store.secret(unsubscribe.SECRET_NAME), "ai@example.org", first)
    text = config.read_text().replace("[email]\n", '[email]\nunsubscribe_secret_env = "KEY"\n')
    config.write_text(text)
    settings = load_config(config)
    monkeypatch.setenv("KEY", "short")
    with pytest.raises(Exception, match="too short"):
        Aggregator(settings).unsubscribe_token("ai@example.org")
    monkeypatch.setenv("KEY", "x" * 40)
    assert Aggregator(settings).unsubscribe_token("ai@example.org") == unsubscribe.token_for(
        "x" * 40, "ai@example.org"
    )
