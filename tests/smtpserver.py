"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), with ways to misbehave.

``SmtpServer`` records every message it accepts and can refuse a recipient
permanently, fail a recipient temporarily a number of times, drop the connection
at the end of a message instead of answering, support SMTPUTF8 or not, and require
a login.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    #: recipient -> reply, every time (e.g. "550 5.1.1 no such user").
    refuse: dict[str, str] = field(default_factory=dict)
    #: recipient -> [reply, ...]: the next RCPTs for it get these replies, then OK.
    fail: dict[str, list[str]] = field(default_factory=dict)
    #: recipients whose next message is cut off: the connection closes before the reply.
    drop: set[str] = field(default_factory=set)
    rcpt_attempts: dict[str, int] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.rcpt_attempts[address] = self.rcpt_attempts.get(address, 0) + 1
        if address in self.refuse:
            return self.refuse[address]
        if self.fail.get(address):
            return self.fail[address].pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpt = envelope.rcpt_tos[0]
        if rcpt in self.drop:
            self.drop.discard(rcpt)
            server.transport.close()
            return "421 4.4.2 connection dropped"
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


class SmtpServer:
    def __init__(
        self,
        *,
        smtputf8: bool = True,
        login: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        port: int | None = None,
    ) -> None:
        self.handler = Handler()
        self.port = port or free_port()
        kwargs: dict[str, Any] = {}
        if login is not None:

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and (
                        data.login.decode(),
                        data.password.decode(),
                    )
                    == login
                )
                return AuthResult(success=ok, handled=False)

            kwargs |= {
                "authenticator": authenticate,
                "auth_required": True,
                # aiosmtpd only knows STARTTLS as TLS; implicit TLS counts as plain.
                "auth_require_tls": starttls is not None,
            }
        if starttls is not None:
            kwargs |= {"tls_context": starttls, "require_starttls": True}
        if implicit_tls is not None:
            kwargs["ssl_context"] = implicit_tls
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=smtputf8,
            ready_timeout=10,
            **kwargs,
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


# -- configuration for the delivery tests ---------------------------------------------

#: The digest day of the sample arXiv list, and the day the sample articles are run on.
LIST_DAY = "2026-01-14"
RUN_DAY = "2026-11-23"

SUBSCRIBERS = """
[[subscribers]]
email = "ai@example.org"
name = "Ada Lovelace"
categories = ["cs.AI"]

[[subscribers]]
email = "cl@example.org"
categories = ["cs.CL"]
format = "text"

[[subscribers]]
email = "zh@example.org"
name = "张三"
categories = ["articles"]
keywords = ["大模型"]

[[subscribers]]
email = "nobody@example.org"
categories = ["physics"]
"""


def email_config(seeds: str, port: int, *, email: str = "", subscribers: str = SUBSCRIBERS) -> str:
    """A config reading the sample list and articles, mailing to 127.0.0.1:``port``."""
    return f"""
[storage]
database = "db.sqlite"

[publish]
output_dir = "public"
base_url = "https://example.org/papers/"

[[sources]]
name = "daily"
kind = "markdown-digest"
path = "{seeds}/002_d401467fe4d4ae84.txt"

[[sources]]
name = "ntt-icml-2025"
kind = "markdown"
path = "{seeds}/000_9f6f0ba65013c320.txt"
categories = ["articles"]

[[sources]]
name = "iclr-2024-china-llm"
kind = "page"
path = "{seeds}/003_366078ac11276017.txt"
categories = ["articles"]
timezone = "Asia/Shanghai"

[email]
smtp_host = "127.0.0.1"
smtp_port = {port}
from = "Daily digest <digest@example.org>"
reply_to = "editor@example.org"
unsubscribe_url = "https://example.org/unsubscribe?email={{email}}"
unsubscribe_mailto = "unsubscribe@example.org"
timeout = 5
max_retries = 2
backoff = 0.01
{email}
{subscribers}
"""


# -- a small site for the crash and resume tests ----------------------------------------

#: The day the crash tests run on, and the next one.
CRASH_DAY = "2026-11-23"
NEXT_DAY = "2026-11-24"
#: Subscribers of ``mail_site``, in config order (the order they are sent to).
CRASH_SUBSCRIBERS = ("alpha@example.org", "beta@example.org", "all@example.org")


def day_feed(day: str, count: int = 10) -> str:
    """An RSS 2.0 feed of ``count`` items dated on ``day`` (UTC), in alpha and beta."""
    start = datetime.combine(date.fromisoformat(day), time(6), UTC)
    items = []
    for n in range(count):
        category = ("alpha", "beta")[n % 2]
        items.append(
            f"<item><title>{day} item {n}: on delivery</title>"
            f"<link>https://example.org/{day}/{n}</link><guid>https://example.org/{day}/{n}</guid>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=30 * n))}</pubDate>"
            f"<category>{category}</category><description>Body {n}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>daily</title><link>https://example.org/</link><description>daily</description>"
        f"{''.join(items)}</channel></rss>"
    )


def mail_site(folder: Path, port: int, *, email: str = "", max_retries: int = 0) -> Path:
    """A config with one feed of ``CRASH_DAY`` items and three subscribers, mailing to
    127.0.0.1:``port`` (by default with one attempt per send: no retry rounds)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "daily.rss").write_text(day_feed(CRASH_DAY))
    (folder / "aggregator.toml").write_text(
        '[publish]\nbase_url = "https://feeds.example.org/"\n'
        "[storage]\nlock_timeout = 5\n"
        '[[sources]]\nname = "daily"\npath = "daily.rss"\nentry_categories = true\n'
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
        'from = "Daily digest <digest@example.org>"\ntimeout = 5\nbackoff = 0\n'
        f"max_retries = {max_retries}\n"
        f"{email}\n"
        '[[subscribers]]\nemail = "alpha@example.org"\ncategories = ["alpha"]\n'
        '[[subscribers]]\nemail = "beta@example.org"\ncategories = ["beta"]\n'
        '[[subscribers]]\nemail = "all@example.org"\n'
    )
    return folder
