"""Property: whatever strings one feed carries, everything we publish and mail stays valid.

Random strings (control characters, ESC and OSC sequences, CR/LF, very long, path
separators, dangerous URL schemes, bidirectional overrides) fill every field an item
can carry (title, link, guid, author, category, description), in RSS 2.0 and Atom 1.0
documents that are as ill-formed as the strings make them. One real run (with
``entry_categories = true``, mailing to a real SMTP server on loopback) must then leave:

- a file tree whose every name fits a file system (at most 255 bytes) and stays inside
  the output folder;
- Atom feeds that are valid against RFC 4287 and parse back without error;
- HTML whose every link is http(s), mailto, or a file or anchor of our own;
- text (digests, the index, the text email) without control characters;
- mail whose headers are the ones we wrote, one line each, and parse without defects.

The examples are derandomised so that CI is repeatable; set ``AGGREGATOR_FUZZ_EXAMPLES``
to run more (and random) ones locally.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

import feedparser
import pytest
from atomcheck import validate_atom
from conftest import NOW
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from smtpserver import SmtpServer

from aggregator.config.settings import load_config
from aggregator.core import run

pytestmark = pytest.mark.slow  # real processes, kills or timeouts: `-m "not slow"` skips

EXAMPLES = int(os.environ.get("AGGREGATOR_FUZZ_EXAMPLES", "0"))

# What a hostile feed would put in a field, as building blocks.
_FRAGMENTS = st.sampled_from(
    [
        "\r\nBcc: victim@example.org",
        "\x1b]0;owned\x07",
        "\x1b[2J\x1b[31m",
        "\x9b31m",
        "\u202etxt.exe",
        "\x00",
        "\x0b\x0c",
        "../../etc/passwd",
        "/",
        "\\",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "https://example.org/ok",
        "<script>alert(1)</script>",
        "&#1;&#x1b;",
        "CON",
        "cs.AI",
        "CS.ai",
        "x" * 300,
        "日本語" * 40,
        " ",
    ]
)
HOSTILE = st.lists(
    st.one_of(_FRAGMENTS, st.text(min_size=0, max_size=30)), min_size=1, max_size=4
).map("".join)

ITEM = st.fixed_dictionaries(
    {
        "title": HOSTILE,
        "link": HOSTILE,
        "guid": HOSTILE,
        "author": HOSTILE,
        "category": HOSTILE,
        "description": HOSTILE,
    }
)


def _text(value: str) -> str:
    """Escaped as XML text, but with every other character as it came: ill-formed on
    purpose where the value holds characters XML forbids."""
    return escape(value, {'"': "&quot;"})


def rss(items: list[dict[str, str]]) -> bytes:
    body = "".join(
        "<item>"
        f"<title>{_text(i['title'])}</title><link>{_text(i['link'])}</link>"
        f'<guid isPermaLink="false">{_text(i["guid"])}</guid>'
        f"<author>{_text(i['author'])}</author><category>{_text(i['category'])}</category>"
        f"<description>{_text(i['description'])}</description>"
        "<pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate>"
        "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>hostile</title><link>https://hostile.example/</link><description>x</description>"
        f"{body}</channel></rss>"
    ).encode("utf-8", "surrogatepass")


def atom(items: list[dict[str, str]]) -> bytes:
    body = "".join(
        "<entry>"
        f'<title type="html">{_text(i["title"])}</title>'
        f'<link href="{_text(i["link"])}"/><id>{_text(i["guid"])}</id>'
        f"<author><name>{_text(i['author'])}</name><uri>{_text(i['link'])}</uri></author>"
        f'<category term="{_text(i["category"])}"/>'
        f'<summary type="html">{_text(i["description"])}</summary>'
        "<updated>2026-11-22T10:00:00Z</updated>"
        "</entry>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>hostile</title><id>urn:hostile</id><updated>2026-11-22T10:00:00Z</updated>"
        f'<link href="https://hostile.example/"/>{body}</feed>'
    ).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


CONFIG = """
[storage]
database = "db.sqlite"

[publish]
output_dir = "public"
base_url = "https://example.org/papers/"

[[sources]]
name = "hostile"
path = "hostile.xml"
categories = ["news"]
entry_categories = true

[email]
smtp_host = "127.0.0.1"
smtp_port = {port}
from = "Daily digest <digest@example.org>"
unsubscribe_url = "https://example.org/unsubscribe?email={{email}}"

[[subscribers]]
email = "reader@example.org"
"""

_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Headers the mailer writes; a forged one (Bcc) would show up here.
_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "auto-submitted",
    "x-auto-response-suppress",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "precedence",
}


@hypothesis_settings(
    max_examples=EXAMPLES or 12,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(ITEM, min_size=1, max_size=3), as_atom=st.booleans())
def test_hostile_strings_never_break_what_we_publish_or_mail(
    smtp: SmtpServer, items: list[dict[str, str]], as_atom: bool
) -> None:
    smtp.handler.received.clear()
    with TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "hostile.xml").write_bytes(atom(items) if as_atom else rss(items))
        (root / "aggregator.toml").write_text(CONFIG.format(port=smtp.port), encoding="utf-8")
        settings = load_config(root / "aggregator.toml")
        run(settings, clock=lambda: NOW, run_date=date(2026, 11, 23), do_send=True)
        public = root / "public"
        check_tree(public)
        for path in public.rglob("*"):
            if path.suffix == ".atom":
                check_feed(path)
            elif path.suffix == ".html":
                check_html(path, public)
            elif path.suffix == ".txt":
                assert not _CONTROL_RE.search(path.read_text("utf-8")), path
        stored = feedparser.parse((public / "feeds" / "all.atom").read_bytes()).entries
        # One digest a day for the one subscriber, when anything was stored at all.
        assert len(smtp.handler.received) == (1 if stored else 0)
        for received in smtp.handler.received:
            check_mail(received.data)


def check_tree(public: Path) -> None:
    for path in public.rglob("*"):
        assert path.resolve().is_relative_to(public.resolve()), path
        for part in path.relative_to(public).parts:
            assert len(part.encode()) <= 255, part
            assert not _CONTROL_RE.search(part), part


def check_feed(path: Path) -> None:
    data = path.read_bytes()
    validate_atom(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    for entry in parsed.entries:
        for link in entry.get("links", []):
            assert urlsplit(link["href"]).scheme in {"http", "https"}, link
        assert not _CONTROL_RE.search(entry.get("title", "")), entry.title


def check_html(path: Path, public: Path) -> None:
    text = path.read_text("utf-8")
    assert not _CONTROL_RE.search(text), path
    document = lxml_html.fromstring(text)
    assert not document.xpath("//script"), path
    for element, attribute, link, _ in document.iterlinks():
        scheme = urlsplit(link).scheme.lower()
        if scheme:
            assert scheme in {"http", "https", "mailto"}, (path, element.tag, attribute, link)
        elif not link.startswith("#"):
            target = (path.parent / unquote(urlsplit(link).path)).resolve()
            assert target.is_relative_to(public.resolve()), (path, link)
            assert target.exists(), (path, link)


def check_mail(data: bytes) -> None:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    names = {name.lower() for name in message}
    assert names <= _HEADERS, names - _HEADERS
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            # Lines end in CRLF on the wire; any other control character is an injection.
            text = part.get_content().replace("\r\n", "\n")
            assert not _CONTROL_RE.search(text), text[:200]
