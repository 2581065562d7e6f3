"""Mailing digests through a real SMTP server on 127.0.0.1: content, exactly once, failures."""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable, Iterator
from datetime import date
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from conftest import NOW, SEEDS
from smtpserver import LIST_DAY, RUN_DAY, SmtpServer, email_config

from aggregator._mail.deliver import CONNECT_RETRY_DELAYS, DeliveryReport
from aggregator._storage.sqlite import Store
from aggregator._storage.sqlite.deliveries import FAILED_PERMANENT, FAILED_TEMPORARY, SENDING, SENT
from aggregator.config.settings import Settings, load_config
from aggregator.core import Aggregator, run, send_day

ServerFactory = Callable[..., SmtpServer]

# The test server takes logins without TLS (aiosmtpd warns about it, rightly).
AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def smtp() -> Iterator[ServerFactory]:
    servers: list[SmtpServer] = []

    def start(**options: object) -> SmtpServer:
        server = SmtpServer(**options).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def prepare(tmp_path: Path, port: int, **options: str) -> Settings:
    """Write the config, ingest the samples (nothing mailed) and return the settings."""
    path = tmp_path / "aggregator.toml"
    path.write_text(email_config(str(SEEDS), port, **options), encoding="utf-8")
    settings = load_config(path)
    run(settings, clock=lambda: NOW, run_date=date.fromisoformat(RUN_DAY))
    return settings


def send(settings: Settings, day: str, **options: object) -> DeliveryReport:
    with Store(settings.storage.database) as store:
        return send_day(settings, store, date.fromisoformat(day), clock=lambda: NOW, **options)


def log_of(settings: Settings, day: str) -> dict[str, tuple[str, int]]:
    with Store(settings.storage.database) as store:
        rows = store.deliveries_for_day(date.fromisoformat(day))
    return {name: (row.state, row.attempts) for name, row in rows.items()}


def only(server: SmtpServer, address: str) -> EmailMessage:
    found = server.handler.to(address)
    assert len(found) == 1, f"{address} received {len(found)} messages"
    return found[0].message


def test_each_subscriber_gets_their_categories_as_text_and_html(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port)
    report = send(settings, LIST_DAY)
    assert report.ok
    assert {r.subscriber: r.outcome for r in report.results} == {
        "ai@example.org": "sent",
        "cl@example.org": "sent",
        "zh@example.org": "empty",
        "nobody@example.org": "empty",
    }
    assert sorted(r.rcpt_tos[0] for r in server.received) == ["ai@example.org", "cl@example.org"]

    ai = only(server, "ai@example.org")
    assert ai.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in ai.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in ai.iter_parts())
    assert ai["Subject"] == "Daily digest 2026-01-14: 19 new in cs.AI"
    assert ai["From"] == "Daily digest <digest@example.org>"
    assert ai["To"] == "Ada Lovelace <ai@example.org>"
    assert ai["Reply-To"] == "editor@example.org"
    assert parsedate_to_datetime(ai["Date"]) == NOW
    assert (
        ai["Message-ID"].startswith("<digest.2026-01-14.") and "@example.org>" in ai["Message-ID"]
    )
    assert ai["List-Id"] == "Daily digest <digest.example.org>"
    # The mailto subject carries the subscriber's signed token (see test_unsubscribe.py).
    token = Aggregator(settings).unsubscribe_token("ai@example.org")
    assert ai["List-Unsubscribe"] == (
        "<https://example.org/unsubscribe?email=ai@example.org>,"
        f" <mailto:unsubscribe@example.org?subject=unsubscribe%20{token}>"
    )
    assert ai["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ai["Auto-Submitted"] == "auto-generated"
    text = ai.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = ai.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.count("<h3") == 19 and "== cs.AI (19 new) ==" in text
    # Only the subscriber's category, with the same entries in both parts.
    assert "cs.CL" not in ai["Subject"] and ">cs.CL<" not in html
    for line in text.splitlines():
        if line[:3].rstrip(".").isdigit():
            title = line.split(". ", 1)[1]
            assert title.replace("&", "&amp;")[:40] in html.replace("&#39;", "'")
    assert "<style" in html  # dark-mode and phone rules; the rest is inlined
    assert 'style="' in html and "<link" not in html and "<script" not in html
    assert "<img" not in html

    cl = only(server, "cl@example.org")
    assert cl.get_content_type() == "text/plain"
    assert "== cs.CL (10 replacements) ==" in cl.get_content()
    assert ai["Message-ID"] != cl["Message-ID"]


def test_chinese_text_survives_headers_and_bodies(tmp_path: Path, smtp: ServerFactory) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port)
    report = send(settings, RUN_DAY)
    assert [r.subscriber for r in report.results if r.outcome == SENT] == ["zh@example.org"]
    raw = server.received[0].data
    assert raw.isascii(), "headers and bodies are 7-bit encoded for any server"
    zh = only(server, "zh@example.org")
    assert zh["To"] == "张三 <zh@example.org>"
    assert zh["Subject"] == "Daily digest 2026-11-23: 1 new in articles"
    text = zh.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = zh.get_body(("html",)).get_content()  # type: ignore[union-attr]
    title = "在 ICLR 2024,看见中国大模型的力量"
    assert title in text and title in html
    assert "entries mentioning 大模型" in text
    # The English articles of the day do not mention the keyword.
    assert "NTT" not in text


def test_a_rerun_sends_nothing_and_reports_who_was_served(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port)
    send(settings, LIST_DAY)
    again = send(settings, LIST_DAY)
    assert len(server.received) == 2
    assert again.ok
    assert again.count("already-sent") == 2 and again.count("sent") == 0
    assert log_of(settings, LIST_DAY)["ai@example.org"] == (SENT, 1)
    # `run` with sending on is also safe to repeat.
    run(settings, clock=lambda: NOW, run_date=date.fromisoformat(LIST_DAY), do_send=True)
    assert len(server.received) == 2


def test_a_temporary_failure_of_the_second_recipient_is_retried(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    server.handler.fail["cl@example.org"] = ["451 4.7.1 greylisted, try again later"]
    settings = prepare(tmp_path, server.port)
    report = send(settings, LIST_DAY)
    assert report.ok
    assert [r.rcpt_tos[0] for r in server.received] == ["ai@example.org", "cl@example.org"]
    assert server.handler.rcpt_attempts == {"ai@example.org": 1, "cl@example.org": 2}
    log = log_of(settings, LIST_DAY)
    assert log["ai@example.org"] == (SENT, 1)
    assert log["cl@example.org"] == (SENT, 2)


def test_a_recipient_still_failing_is_left_for_the_next_send(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    server.handler.fail["cl@example.org"] = ["452 4.2.2 mailbox full"] * 3
    settings = prepare(tmp_path, server.port)
    report = send(settings, LIST_DAY)
    assert not report.ok
    (problem,) = report.problems
    assert problem.subscriber == "cl@example.org"
    assert problem.outcome == FAILED_TEMPORARY and "452 4.2.2 mailbox full" in problem.detail
    assert log_of(settings, LIST_DAY)["cl@example.org"] == (FAILED_TEMPORARY, 3)
    # The mailbox has room again: the next send serves cl, and only cl.
    later = send(settings, LIST_DAY)
    assert later.ok and later.count("sent") == 1
    assert [r.rcpt_tos[0] for r in server.received] == ["ai@example.org", "cl@example.org"]


def test_a_refused_recipient_is_recorded_and_the_others_are_served(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    server.handler.refuse["ai@example.org"] = "550 5.1.1 <ai@example.org>: no such user"
    settings = prepare(tmp_path, server.port)
    report = send(settings, LIST_DAY)
    assert [r.rcpt_tos[0] for r in server.received] == ["cl@example.org"]
    assert server.handler.rcpt_attempts["ai@example.org"] == 1, "a 5xx is not retried"
    (problem,) = report.problems
    assert problem.subscriber == "ai@example.org" and problem.outcome == FAILED_PERMANENT
    assert "550 5.1.1" in problem.detail and "no such user" in problem.detail
    with Store(settings.storage.database) as store:
        row = store.deliveries_for_day(date.fromisoformat(LIST_DAY))["ai@example.org"]
    assert row.state == FAILED_PERMANENT and row.smtp_code == 550
    # Not retried by a plain rerun; retried when asked.
    again = send(settings, LIST_DAY)
    assert again.count("not-retried") == 1 and not again.ok, "still not served"
    del server.handler.refuse["ai@example.org"]
    assert send(settings, LIST_DAY, retry_failed=True).count("sent") == 1
    assert len(server.handler.to("ai@example.org")) == 1


def test_a_connection_dropped_mid_message_is_retried_and_delivered_once(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    server.handler.drop.add("ai@example.org")
    settings = prepare(tmp_path, server.port)
    report = send(settings, LIST_DAY)
    assert report.ok, report
    assert len(server.handler.to("ai@example.org")) == 1
    assert len(server.handler.to("cl@example.org")) == 1
    assert log_of(settings, LIST_DAY)["ai@example.org"] == (SENT, 2)


@pytest.mark.sqlite_only(reason="patches a method of the SQLite store class")
def test_a_crash_after_handing_over_is_reported_not_resent(
    tmp_path: Path, smtp: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp()
    settings = prepare(
        tmp_path,
        server.port,
        subscribers='[[subscribers]]\nemail = "a@example.org"\n'
        '[[subscribers]]\nemail = "b@example.org"\n[[subscribers]]\nemail = "c@example.org"\n',
    )
    real_finish = Store.finish_delivery

    def crash_after_b(self: Store, day: date, subscriber: str, **kwargs: object) -> None:
        if subscriber == "b@example.org":
            raise KeyboardInterrupt("killed")  # after the server took b's message
        real_finish(self, day, subscriber, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "finish_delivery", crash_after_b)
    with pytest.raises(KeyboardInterrupt):
        send(settings, LIST_DAY)
    monkeypatch.undo()
    assert [r.rcpt_tos[0] for r in server.received] == ["a@example.org", "b@example.org"]
    log = log_of(settings, LIST_DAY)
    assert log == {
        "a@example.org": (SENT, 1),
        "b@example.org": (SENDING, 1),
        "c@example.org": ("pending", 0),
    }
    resumed = send(settings, LIST_DAY)
    assert [r.rcpt_tos[0] for r in server.received][2:] == ["c@example.org"]
    outcomes = {r.subscriber: r.outcome for r in resumed.results}
    assert outcomes == {
        "a@example.org": "already-sent",
        "b@example.org": "unconfirmed",
        "c@example.org": "sent",
    }
    assert not resumed.ok and "--resend-unconfirmed" in resumed.problems[0].detail
    forced = send(settings, LIST_DAY, resend_unconfirmed=True)
    assert forced.ok and len(server.handler.to("b@example.org")) == 2
    first, second = (r.message for r in server.handler.to("b@example.org"))
    assert first["Message-ID"] == second["Message-ID"], "a resend is recognisable"


@AUTH_WITHOUT_TLS
def test_wrong_credentials_name_the_settings_and_send_nothing(
    tmp_path: Path, smtp: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp(login=("digest", "right"))
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    settings = prepare(
        tmp_path,
        server.port,
        email='username = "digest"\npassword_env = "TEST_SMTP_PASSWORD"',
    )
    report = send(settings, LIST_DAY)
    assert server.received == []
    assert report.error is not None
    assert "refused the login of 'digest': 535" in report.error
    assert "password_env" in report.error
    assert {r.outcome for r in report.problems} == {FAILED_TEMPORARY}
    assert len(report.problems) == 2
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "right")
    fixed = send(settings, LIST_DAY)
    assert fixed.ok and len(server.received) == 2


@AUTH_WITHOUT_TLS
def test_an_unset_password_variable_is_named_and_the_run_goes_on(
    tmp_path: Path, smtp: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp(login=("digest", "right"))
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    path = tmp_path / "aggregator.toml"
    path.write_text(
        email_config(
            str(SEEDS),
            server.port,
            email='username = "digest"\npassword_env = "TEST_SMTP_PASSWORD"',
        ),
        encoding="utf-8",
    )
    settings = load_config(path)
    summary = run(settings, clock=lambda: NOW, run_date=date.fromisoformat(LIST_DAY), do_send=True)
    assert summary.feeds_written and summary.digest_days, "the rest of the run is done"
    assert summary.delivery is not None and summary.delivery.error is not None
    assert "TEST_SMTP_PASSWORD is not set" in summary.delivery.error
    assert server.received == []


def test_a_server_that_is_down_is_retried_briefly_then_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from smtpserver import free_port

    delays: list[float] = []
    port = free_port()
    settings = prepare(tmp_path, port)
    with caplog.at_level(logging.WARNING, logger="aggregator._mail.deliver"):
        report = send(settings, LIST_DAY, sleep=delays.append)
    # Not [email] backoff (0.01 s here, doubling), which is for messages refused for now.
    assert delays == list(CONNECT_RETRY_DELAYS)
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 2 and all("; next attempt at " in n for n in notices)
    assert notices[0].startswith(f"email: cannot connect to 127.0.0.1:{port} (connection refused)")
    assert "check the server is running" in notices[0]
    assert report.count(FAILED_TEMPORARY) == 2
    assert {r.detail for r in report.problems} == {
        f"not sent: cannot connect to 127.0.0.1:{port} (connection refused)"
    }
    assert report.error is not None and "after 3 attempts; 2 messages left" in report.error
    assert set(log_of(settings, LIST_DAY).values()) == {(FAILED_TEMPORARY, 3), ("empty", 0)}


def test_a_message_refused_for_now_is_retried_after_saying_when(
    tmp_path: Path, smtp: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp()
    server.handler.fail["cl@example.org"] = ["451 4.7.1 greylisted, try again later"]
    settings = prepare(tmp_path, server.port)
    delays: list[float] = []
    with caplog.at_level(logging.WARNING, logger="aggregator._mail.deliver"):
        assert send(settings, LIST_DAY, sleep=delays.append).ok
    assert delays == [0.01]
    (notice,) = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(
        r"email: 1 message failed for now \(recipient cl@example.org refused: 451 4\.7\.1"
        r" greylisted, try again later\); next attempt at \d\d:\d\d:\d\d",
        notice,
    ), notice


def test_utf8_mailbox_names_need_smtputf8(tmp_path: Path, smtp: ServerFactory) -> None:
    subscribers = (
        '[[subscribers]]\nemail = "用户@例子.测试"\ncategories = ["cs.AI"]\n'
        '[[subscribers]]\nemail = "reader@bücher.example"\ncategories = ["cs.AI"]\n'
    )
    plain = smtp(smtputf8=False)
    settings = prepare(tmp_path, plain.port, subscribers=subscribers)
    report = send(settings, LIST_DAY)
    (problem,) = report.problems
    assert problem.subscriber == "用户@例子.测试" and problem.outcome == FAILED_PERMANENT
    assert "does not support SMTPUTF8" in problem.detail
    # An internationalised domain alone goes out in its ASCII (IDNA) form.
    (message,) = plain.received
    assert message.rcpt_tos == ["reader@xn--bcher-kva.example"]
    assert message.message["To"] == "reader@xn--bcher-kva.example"

    modern = smtp(smtputf8=True)
    path = tmp_path / "aggregator.toml"
    path.write_text(path.read_text().replace(str(plain.port), str(modern.port)))
    settings = load_config(path)
    assert send(settings, LIST_DAY, retry_failed=True).ok
    (message,) = modern.received
    assert message.rcpt_tos == ["用户@例子.测试"]
    assert message.message["To"] == "用户@例子.测试"


def test_dry_run_writes_eml_files_and_records_nothing(tmp_path: Path, smtp: ServerFactory) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port)
    report = send(settings, LIST_DAY, dry_run=True)
    # Beside the database, not in the output folder that `serve` publishes.
    outbox = settings.storage.database.parent / "outbox" / LIST_DAY
    assert sorted(p.name for p in outbox.iterdir()) == ["ai@example.org.eml", "cl@example.org.eml"]
    assert list(settings.publish.output_dir.rglob("*.eml")) == []
    assert report.count("written") == 2
    assert server.received == []
    assert log_of(settings, LIST_DAY) == {}
    # The files are the messages a real send would have sent.
    send(settings, LIST_DAY)
    sent = server.handler.to("ai@example.org")[0].data
    assert (outbox / "ai@example.org.eml").read_bytes() == sent


def test_gmail_clipping_keeps_html_small_and_links_the_full_digest(
    tmp_path: Path, smtp: ServerFactory
) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port, email="max_html_bytes = 30000")
    report = send(settings, LIST_DAY)
    assert report.ok
    ai = only(server, "ai@example.org")
    html = ai.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = ai.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(html.encode()) <= 30000
    shown = html.count("<h3")
    assert 0 < shown < 19
    # The others are listed by title, with their links, in both parts.
    assert html.count("<li>") == 19 - shown
    assert "Also in cs.AI:" in html and "Also in cs.AI:" in text
    assert text.count("\n - ") == 19 - shown
    assert "https://example.org/papers/digests/2026-01-14/index.html" in html


def test_status_shows_the_last_deliveries(tmp_path: Path, smtp: ServerFactory) -> None:
    from click.testing import CliRunner

    from aggregator._app.cli import main

    server = smtp()
    server.handler.refuse["cl@example.org"] = "550 5.1.1 no such user"
    settings = prepare(tmp_path, server.port)
    send(settings, LIST_DAY)
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "aggregator.toml"), "status"])
    assert "Last deliveries (2026-01-14)" in result.output
    assert "ai@example.org" in result.output and "sent" in result.output
    assert "failed-permanent" in result.output and "no such user" in result.output
    assert result.exit_code == 1


def test_the_delivery_log_is_migration_4(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        versions = [v for (v,) in store.db.execute("SELECT version FROM schema_migrations")]
        assert 4 in versions
        assert store.deliveries_for_day(date(2026, 1, 1)) == {}


@pytest.mark.parametrize(
    ("security", "message"),
    [
        ("starttls", "does not offer STARTTLS"),
        ("tls", "TLS with 127.0.0.1:"),
    ],
)
def test_tls_that_cannot_be_had_is_named_and_nothing_is_sent_in_clear(
    tmp_path: Path, smtp: ServerFactory, security: str, message: str
) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port, email=f'security = "{security}"')
    report = send(settings, LIST_DAY)
    assert server.received == []
    assert report.error is not None and message in report.error
    assert "[email] security" in report.error
    assert log_of(settings, LIST_DAY)["ai@example.org"] == (FAILED_TEMPORARY, 1)


def test_send_empty_mails_subscribers_with_nothing_new(tmp_path: Path, smtp: ServerFactory) -> None:
    server = smtp()
    settings = prepare(tmp_path, server.port, email="send_empty = true")
    report = send(settings, LIST_DAY)
    assert report.count(SENT) == 4
    nobody = only(server, "nobody@example.org")
    assert nobody["Subject"] == "Daily digest 2026-01-14: nothing new"
    assert "0 entries" in nobody.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@AUTH_WITHOUT_TLS
def test_an_unset_password_variable_only_matters_when_there_is_mail(
    tmp_path: Path, smtp: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp(login=("digest", "right"))
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "right")
    settings = prepare(
        tmp_path, server.port, email='username = "digest"\npassword_env = "TEST_SMTP_PASSWORD"'
    )
    assert send(settings, LIST_DAY).ok
    monkeypatch.delenv("TEST_SMTP_PASSWORD")
    again = send(settings, LIST_DAY)
    assert again.ok and again.count("already-sent") == 2
    unsent = send(settings, RUN_DAY)
    assert unsent.error is not None and "TEST_SMTP_PASSWORD is not set" in unsent.error
    assert log_of(settings, RUN_DAY)["zh@example.org"] == ("pending", 0)


@AUTH_WITHOUT_TLS
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_a_verified_certificate_and_a_login(
    tmp_path: Path, smtp: ServerFactory, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    import trustme

    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    kind = "starttls" if security == "starttls" else "implicit_tls"
    server = smtp(login=("digest", "secret"), **{kind: server_context})
    # A private CA is trusted the OpenSSL way, as a user would: SSL_CERT_FILE.
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "secret")
    settings = prepare(
        tmp_path,
        server.port,
        email=f'security = "{security}"\nusername = "digest"\npassword_env = "TEST_SMTP_PASSWORD"',
    )
    assert send(settings, LIST_DAY).ok
    assert len(server.received) == 2


def test_an_untrusted_certificate_is_refused(tmp_path: Path, smtp: ServerFactory) -> None:
    import trustme

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_context)
    server = smtp(implicit_tls=server_context)
    settings = prepare(tmp_path, server.port, email='security = "tls"')
    report = send(settings, LIST_DAY)
    assert server.received == []
    assert report.error is not None and "CERTIFICATE_VERIFY_FAILED" in report.error
