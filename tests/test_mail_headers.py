"""Headers on the wire, read from the bytes a real SMTP server on 127.0.0.1 received:
structured headers folded between their elements and never RFC 2047-encoded, every
line under RFC 5322's 998 characters, and no header a stored string could add."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from conftest import NOW, SEEDS
from smtpserver import LIST_DAY, RUN_DAY, Received, SmtpServer, email_config

from aggregator._mail.digest import unsubscribe_for
from aggregator._storage.sqlite import Store
from aggregator.config.mail import Subscriber
from aggregator.config.settings import Settings, load_config
from aggregator.core import Aggregator, run, send_day
from aggregator.errors import ConfigError

#: 64 characters before the @, as long as RFC 5321 allows.
LONG_ADDRESS = (
    "a.mailbox.name.as.long.as.rfc.5321.allows.for.one.local.part.xyz@subscribers.example.org"
)
UNSUBSCRIBE = (
    "https://lists.example.org/newsletters/daily-research-digest/unsubscribe/one-click"
    "?list=daily&email={email}"
)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def prepare(tmp_path: Path, port: int, *, email: str = "", extra: str = "") -> Settings:
    subscribers = f'[[subscribers]]\nemail = "{LONG_ADDRESS}"\ncategories = ["cs.AI"]\n'
    text = email_config(str(SEEDS), port, email=email, subscribers=subscribers)
    text = text.replace(
        'unsubscribe_url = "https://example.org/unsubscribe?email={email}"',
        f'unsubscribe_url = "{UNSUBSCRIBE}"',
    )
    path = tmp_path / "aggregator.toml"
    path.write_text(text + extra, encoding="utf-8")
    settings = load_config(path)
    run(settings, clock=lambda: NOW, run_date=date.fromisoformat(RUN_DAY))
    return settings


def send(settings: Settings, day: str = LIST_DAY) -> None:
    with Store(settings.storage.database) as store:
        report = send_day(settings, store, date.fromisoformat(day), clock=lambda: NOW)
    assert report.ok, report


def raw_headers(received: Received) -> dict[str, list[bytes]]:
    """Each header's physical lines (first line and continuations), as received."""
    head = received.data.split(b"\r\n\r\n", 1)[0]
    found: dict[str, list[bytes]] = {}
    current: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            current.append(line)
        else:
            current = [line]
            found.setdefault(line.split(b":", 1)[0].decode().lower(), current)
    return found


def unfolded(lines: list[bytes]) -> str:
    """RFC 5322 2.2.3: unfolding removes each CRLF that is followed by white space."""
    return b"".join(lines).decode("ascii").split(":", 1)[1].lstrip(" ")


def test_a_long_list_unsubscribe_is_folded_between_its_urls_never_encoded(
    tmp_path: Path, server: SmtpServer
) -> None:
    settings = prepare(tmp_path, server.port)
    send(settings)
    (received,) = server.received
    url = UNSUBSCRIBE.replace("{email}", LONG_ADDRESS)
    assert len(url) > 150
    token = Aggregator(settings).unsubscribe_token(LONG_ADDRESS)
    wanted = f"<{url}>, <mailto:unsubscribe@example.org?subject=unsubscribe%20{token}>"
    headers = raw_headers(received)
    lines = headers["list-unsubscribe"]
    assert b"=?" not in b"".join(lines), lines
    assert len(lines) == 2, "folded between the two URLs, each whole on its line"
    assert unfolded(lines) == wanted
    assert all(len(line) <= 998 for line in received.data.split(b"\r\n"))
    message = received.message
    assert message["List-Unsubscribe"] == wanted
    assert re.findall(r"<([^>]*)>", message["List-Unsubscribe"])[0] == url
    assert unfolded(headers["list-unsubscribe-post"]) == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for name in ("list-id", "message-id", "auto-submitted"):
        assert b"=?" not in b"".join(headers[name]), headers[name]


def test_a_non_ascii_title_encodes_the_list_id_phrase_and_not_the_identifier(
    tmp_path: Path, server: SmtpServer
) -> None:
    title = "每日论文摘要 research digest, with a title long enough to need folding"
    settings = prepare(tmp_path, server.port, extra=f'\n[digest]\ntitle = "{title}"\n')
    send(settings)
    (received,) = server.received
    lines = raw_headers(received)["list-id"]
    raw = unfolded(lines)
    assert raw.endswith(" <digest.example.org>"), raw
    assert all(len(line) <= 78 for line in lines), lines
    # The phrase is encoded words (allowed in a phrase, RFC 2047 5(3)); it reads back.
    phrase = raw.removesuffix(" <digest.example.org>")
    assert phrase.startswith("=?utf-8?")
    assert str(make_header(decode_header(phrase))) == title
    assert received.message["Subject"].startswith(title)


def test_an_unsubscribe_url_that_cannot_fit_a_header_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[email]\nfrom = "digest@example.org"\n'
        f'unsubscribe_url = "https://example.org/{"x" * 400}?email={{email}}"\n'
    )
    with pytest.raises(ConfigError, match=r"email\.unsubscribe_url: 4\d\d characters"):
        load_config(path)


def test_an_internationalised_unsubscribe_url_goes_out_as_ascii(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[email]\nfrom = "digest@example.org"\n'
        'unsubscribe_url = "https://bücher.example/abmelden/löschen?email={email}"\n'
        'unsubscribe_mailto = "abmelden@bücher.example"\n'
    )
    email = load_config(path).email
    assert email is not None
    assert email.unsubscribe_url == (
        "https://xn--bcher-kva.example/abmelden/l%C3%B6schen?email={email}"
    )
    reader = Subscriber("用户@例子.测试", None, (), (), "html")
    links = unsubscribe_for(email, reader)
    assert links.url == (
        "https://xn--bcher-kva.example/abmelden/l%C3%B6schen"
        "?email=%E7%94%A8%E6%88%B7@%E4%BE%8B%E5%AD%90.%E6%B5%8B%E8%AF%95"
    )
    assert links.mailto == "mailto:abmelden@xn--bcher-kva.example?subject=unsubscribe"


def fold(name: str, value: str, *, utf8: bool = False) -> str:
    from email.message import EmailMessage

    from aggregator._mail.message import POLICY, POLICY_UTF8

    message = EmailMessage(policy=POLICY_UTF8 if utf8 else POLICY)
    message[name] = value
    return message.as_bytes().split(b"\r\n\r\n", 1)[0].decode("utf-8")


def test_structured_headers_fold_at_spaces_and_keep_long_elements_whole() -> None:
    long_url = "<https://example.org/" + "p" * 120 + ">,"
    folded = fold("List-Unsubscribe", f"{long_url} <mailto:u@example.org>")
    assert folded.split("\r\n") == [f"List-Unsubscribe: {long_url}", " <mailto:u@example.org>"]
    # A line break in the value is white space: no second header, one line.
    assert fold("List-Id", "Evil\r\nBcc: victim@example.org <l.example.org>") == (
        "List-Id: Evil Bcc: victim@example.org <l.example.org>"
    )


def test_a_structured_header_that_cannot_be_written_raises_instead_of_encoding() -> None:
    with pytest.raises(ValueError, match="over RFC 5322's 998"):
        fold("List-Unsubscribe", "<https://example.org/" + "p" * 1000 + ">")
    with pytest.raises(ValueError, match="must be ASCII"):
        fold("List-Unsubscribe", "<mailto:用户@example.org>")
    assert fold("List-Unsubscribe", "<mailto:用户@example.org>", utf8=True) == (
        "List-Unsubscribe: <mailto:用户@example.org>"
    )
