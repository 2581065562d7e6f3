"""`aggregator send` and `run`'s sending step, through the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS
from smtpserver import LIST_DAY, SmtpServer, email_config

from aggregator._app.cli import main


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def configure(tmp_path: Path, port: int, **options: str) -> list[str]:
    path = tmp_path / "aggregator.toml"
    path.write_text(email_config(str(SEEDS), port, **options), encoding="utf-8")
    return ["--config", str(path)]


def test_run_mails_the_digest_and_a_second_run_does_not(tmp_path: Path, server: SmtpServer) -> None:
    config = configure(tmp_path, server.port)
    first = CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY])
    assert first.exit_code == 0, first.output
    assert "Email 2026-01-14: 3 sent, 1 nothing to send" in first.output
    assert "  sent: ai@example.org (19 entries)" in first.output
    second = CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY])
    assert second.exit_code == 0
    assert "Email 2026-01-14: 3 already sent, 1 nothing to send" in second.output
    assert len(server.received) == 3


def test_run_no_send_mails_nothing_and_send_does_it_later(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = configure(tmp_path, server.port)
    result = CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    assert result.exit_code == 0
    assert "Email" not in result.output and server.received == []
    sent = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY])
    assert sent.exit_code == 0, sent.output
    assert "3 sent" in sent.output and len(server.received) == 3


def test_send_dry_run_writes_the_outbox(tmp_path: Path, server: SmtpServer) -> None:
    config = configure(tmp_path, server.port)
    CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    outbox = tmp_path / "preview"
    result = CliRunner().invoke(
        main, [*config, "send", "--date", LIST_DAY, "--dry-run", "--outbox", str(outbox)]
    )
    assert result.exit_code == 0, result.output
    assert "Email (dry run) 2026-01-14: 3 written, 1 nothing to send" in result.output
    assert sorted(p.name for p in outbox.iterdir()) == [
        "ai@example.org.eml",
        "cl@example.org.eml",
        "zh@example.org.eml",
    ]
    assert server.received == []


def test_send_dry_run_keeps_the_outbox_out_of_the_output_folder(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = configure(tmp_path, server.port)
    CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    public = tmp_path / "public"
    result = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY, "--dry-run"])
    assert result.exit_code == 0, result.output
    outbox = tmp_path / "outbox" / LIST_DAY  # beside db.sqlite
    assert len(list(outbox.glob("*.eml"))) == 3
    assert str(outbox / "ai@example.org.eml") in result.output
    assert list(public.rglob("*.eml")) == [] and not (public / "outbox").exists()

    (tmp_path / "link").symlink_to(public, target_is_directory=True)
    for inside in (public / "outbox", tmp_path / "link" / "mail"):
        refused = CliRunner().invoke(
            main, [*config, "send", "--date", LIST_DAY, "--dry-run", "--outbox", str(inside)]
        )
        assert refused.exit_code == 2, refused.output
        assert f"error: --outbox {inside} is inside the output folder {public}" in (refused.output)
        assert "--outbox-in-output" in refused.output
    assert list(public.rglob("*.eml")) == []
    force = ["--dry-run", "--outbox", str(public / "outbox"), "--outbox-in-output"]
    forced = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY, *force])
    assert forced.exit_code == 0, forced.output
    assert len(list((public / "outbox").glob("*.eml"))) == 3
    alone = CliRunner().invoke(main, [*config, "send", "--outbox", str(tmp_path / "x")])
    assert alone.exit_code == 2 and "go with --dry-run" in alone.output
    assert server.received == []


def test_a_database_inside_the_output_folder_needs_an_explicit_outbox(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = configure(tmp_path, server.port)
    path = Path(config[1])
    path.write_text(path.read_text().replace('database = "db.sqlite"', 'database = "public/db"'))
    CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    result = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY, "--dry-run"])
    assert result.exit_code == 2
    assert "the default outbox (beside the database)" in result.output
    assert list((tmp_path / "public").rglob("*.eml")) == []


def test_a_refused_recipient_exits_1_and_is_named(tmp_path: Path, server: SmtpServer) -> None:
    server.handler.refuse["cl@example.org"] = "550 5.1.1 no such user"
    config = configure(tmp_path, server.port)
    CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    result = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY])
    assert result.exit_code == 1
    assert "failed: email to cl@example.org: recipient cl@example.org refused: 550 5.1.1" in (
        result.output
    )
    assert "Email 2026-01-14: 2 sent, 1 nothing to send, 1 failed permanently" in result.output


def test_a_subscriber_refused_before_and_not_retried_still_exits_1(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.handler.refuse["cl@example.org"] = "550 5.1.1 no such user"
    config = configure(tmp_path, server.port)
    CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    assert CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY]).exit_code == 1
    # A plain rerun does not try cl again; cl is still not served, so it still exits 1.
    again = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY])
    assert again.exit_code == 1, again.output
    assert "2 already sent, 1 nothing to send, 1 failed before, not retried" in again.output
    assert (
        "failed: email to cl@example.org: failed permanently before, not retried:"
        " recipient cl@example.org refused: 550 5.1.1" in again.output
    )
    assert f"`aggregator send --date {LIST_DAY} --retry-failed` tries again" in again.output
    assert server.handler.rcpt_attempts["cl@example.org"] == 1
    # `run` reports it the same way.
    rerun = CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY])
    assert rerun.exit_code == 1 and "1 failed before, not retried" in rerun.output
    del server.handler.refuse["cl@example.org"]
    retried = CliRunner().invoke(main, [*config, "send", "--date", LIST_DAY, "--retry-failed"])
    assert retried.exit_code == 0, retried.output
    assert len(server.handler.to("cl@example.org")) == 1


def test_run_without_email_says_so_once(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        f'[[sources]]\nname = "a"\nkind = "markdown"\npath = "{SEEDS}/000_9f6f0ba65013c320.txt"\n'
    )
    result = CliRunner().invoke(main, ["--config", str(path), "run"])
    assert result.exit_code == 0
    assert result.output.count("Email: not configured") == 1
    send = CliRunner().invoke(main, ["--config", str(path), "send"])
    assert send.exit_code == 2
    assert f"{path}: [email]: email is not configured" in send.output


def test_run_with_an_unset_password_variable_exits_1_naming_it(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    config = configure(
        tmp_path,
        server.port,
        email='username = "u"\npassword_env = "NO_SUCH_PASSWORD_VAR"',
    )
    result = CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY])
    assert result.exit_code == 1
    assert "NO_SUCH_PASSWORD_VAR is not set" in result.output
    assert "Feeds:" in result.output


def test_mark_unconfirmed_sent_goes_with_neither_resend_nor_dry_run(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = configure(tmp_path, server.port)
    for other in ("--resend-unconfirmed", "--dry-run"):
        result = CliRunner().invoke(
            main, [*config, "send", "--date", LIST_DAY, "--mark-unconfirmed-sent", other]
        )
        assert result.exit_code == 2
        assert "--mark-unconfirmed-sent cannot be combined" in result.output
    assert server.received == []


def test_mark_unconfirmed_sent_with_nothing_unconfirmed_says_so_and_sends(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = configure(tmp_path, server.port)
    CliRunner().invoke(main, [*config, "run", "--date", LIST_DAY, "--no-send"])
    result = CliRunner().invoke(
        main, [*config, "send", "--date", LIST_DAY, "--mark-unconfirmed-sent"]
    )
    assert result.exit_code == 0, result.output
    assert "Marked as sent without sending (2026-01-14): nothing was unconfirmed" in result.output
    assert len(server.received) == 3
