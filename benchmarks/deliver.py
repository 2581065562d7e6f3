"""Time mailing a digest: rendering per subscriber, and sending through a local SMTP server.

Run: ``python -m benchmarks.deliver`` (needs the ``test`` extra for aiosmtpd). Prints
the seconds to select, render and build one subscriber's message from a 300-entry
digest (plain and cut to fit Gmail's limit), and messages per second through an
aiosmtpd server on 127.0.0.1 with the delivery log in a real SQLite file.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from aggregator._mail.deliver import send_digest
from aggregator._mail.digest import render_email, select
from aggregator._mail.message import build_message
from aggregator._output.digest import choose
from aggregator._storage.sqlite import Store
from aggregator.config.mail import Subscriber
from aggregator.config.settings import load_config

from .publish import sample_entries

NOW = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from smtpserver import SmtpServer

    entries = [
        replace(e, categories=(f"cs.{'ABCDEFGHIJ'[i % 10]}",))
        for i, e in enumerate(sample_entries(300))
    ]
    digest = choose(date(2026, 1, 1), title="Daily digest", new=entries)
    server = SmtpServer().start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            subscribers = "".join(
                f'[[subscribers]]\nemail = "reader{n}@example.org"\n'
                f'categories = ["cs.{"ABCDEFGHIJ"[n % 10]}", "cs.{"ABCDEFGHIJ"[(n + 1) % 10]}"]\n'
                for n in range(200)
            )
            (folder / "aggregator.toml").write_text(
                f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\n'
                f'from = "digest@example.org"\n{subscribers}'
            )
            settings = load_config(folder / "aggregator.toml")
            assert settings.email is not None
            email = settings.email
            for label, who in (
                ("2 categories (60 entries)", settings.subscribers[0]),
                (
                    "all 300 entries, cut to fit",
                    Subscriber("all@example.org", None, (), (), "html"),
                ),
            ):
                start = time.perf_counter()
                rounds = 5
                for _ in range(rounds):
                    chosen = select(digest, who)
                    content = render_email(
                        chosen, subscriber=who, settings=email, base_url=settings.publish.base_url
                    )
                    build_message(chosen, content, subscriber=who, settings=email, now=NOW)
                took = (time.perf_counter() - start) / rounds
                size = len((content.html or "").encode())
                print(f"render one message, {label}: {took * 1000:.0f} ms, HTML {size} bytes")
            with Store(folder / "db.sqlite") as store:
                start = time.perf_counter()
                report = send_digest(settings, store, digest, clock=lambda: NOW)
                took = time.perf_counter() - start
            sent = report.count("sent")
            print(
                f"send to 200 subscribers via 127.0.0.1: {took:.2f} s,"
                f" {sent / took:.0f} messages/s ({sent} sent)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
