"""Summaries through the command line: a feed served from 127.0.0.1, the
chat-completions server of the benchmarks, the digest files and the mail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from smtpserver import SmtpServer

from aggregator._app.cli import main
from benchmarks.chatserver import chat_server

DAY = "2026-12-04"
ITEMS = [
    (
        "Sparse Critics for Long-Horizon Agents",
        "Agents that act over hundreds of steps fail in ways that are hard to trace. "
        "Existing evaluations report only whether the task succeeded. We propose a sparse "
        "critic that scores each step from the trajectory alone. Experiments show that the "
        "critic finds the first faulty step in 71% of failed runs.",
    ),
    (
        "Twist-Angle Dependence of Phonon Transport in Bilayer Graphene",
        "Thermal transport in twisted bilayers is poorly understood near the magic angle. "
        "We study it with molecular dynamics at angles from 0.5 to 30 degrees. The results "
        "reveal a conductivity minimum where flat bands form.",
    ),
]


def rss() -> str:
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/p/{i}</link>"
        f"<guid>https://example.org/p/{i}</guid><description>{text}</description>"
        f"<pubDate>Fri, 04 Dec 2026 06:00:00 GMT</pubDate></item>"
        for i, (title, text) in enumerate(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Lab papers</title><link>https://example.org/</link>{items}</channel></rss>"
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    started = SmtpServer().start()
    yield started
    started.stop()


def configure(tmp_path: Path, httpserver: HTTPServer, summaries: str, smtp_port: int) -> Path:
    httpserver.expect_request("/papers.rss").respond_with_data(rss(), content_type="text/xml")
    path = tmp_path / "aggregator.toml"
    path.write_text(
        f"""
[storage]
database = "db.sqlite"
[publish]
output_dir = "public"
[email]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
from = "Digest <digest@example.org>"
timeout = 5
[[subscribers]]
email = "reader@example.org"
{summaries}
[[sources]]
name = "lab"
url = "{httpserver.url_for("/papers.rss")}"
categories = ["physics-and-ai"]
""",
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["-c", str(config), "run", "--date", DAY, *args])
    assert result.exit_code == 0, result.output
    return result.output


def printed(config: Path, form: str) -> str:
    result = CliRunner().invoke(main, ["-c", str(config), "digest", "--date", DAY, "--print", form])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_default_digest_has_extractive_tldrs(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpServer
) -> None:
    config = configure(tmp_path, httpserver, "", smtp.port)
    output = run(config)
    assert "Summaries:" not in output  # nothing was asked of a server
    text = printed(config, "text")
    assert "   TL;DR: We propose a sparse critic that scores each step" in text
    assert "   Background: Agents that act over hundreds of steps" in text
    assert "   Conclusion: Experiments show that the critic finds" in text
    assert "   TL;DR: We study it with molecular dynamics" in text
    mail = smtp.received[0].message
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "TL;DR:</strong> We propose a sparse critic" in html
    assert "<details" in html  # the sections, collapsed where the mail client allows


def test_a_server_writes_cached_translated_summaries(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpServer
) -> None:
    with chat_server() as server:
        summaries = f"""
[summaries]
provider = "openai-compatible"
base_url = "{server.url}"
model = "qwen2.5:7b"
language = "zh"
"""
        config = configure(tmp_path, httpserver, summaries, smtp.port)
        output = run(config)
        assert server.calls == 2
        assert "Summaries: 2 written by openai-compatible/qwen2.5:7b (2 calls" in output
        text = printed(config, "text")
        assert "   关于Sparse Critics for Long-Horizon Agents的研究\n" in text
        assert "   TL;DR: TLDR of Sparse Critics for Long-Horizon Agents." in text
        assert "   Innovation: What Sparse Critics for Long-Horizon Agents does." in text
        html = printed(config, "html")
        assert 'class="translated" lang="zh">关于Twist-Angle Dependence' in html
        assert "· by qwen2.5:7b</summary>" in html
        mail = smtp.received[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "TL;DR: TLDR of Twist-Angle Dependence" in mail
        # A rerun asks nothing: the feed is unchanged, and the summaries are cached.
        run(config)
        assert server.calls == 2
        assert "TLDR of Sparse Critics" in printed(config, "text")


def test_no_summaries_asks_nothing_and_keeps_the_extractive_text(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpServer
) -> None:
    with chat_server() as server:
        summaries = f"""
[summaries]
provider = "openai-compatible"
base_url = "{server.url}"
model = "qwen2.5:7b"
"""
        config = configure(tmp_path, httpserver, summaries, smtp.port)
        run(config, "--no-summaries", "--no-send")
        assert server.calls == 0
    assert "   TL;DR: We propose a sparse critic" in printed(config, "text")


def test_a_dead_server_is_said_once_and_the_digest_goes_out(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpServer
) -> None:
    summaries = """
[summaries]
provider = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"
model = "llama3.1"
"""
    config = configure(tmp_path, httpserver, summaries, smtp.port)
    result = CliRunner().invoke(main, ["-c", str(config), "run", "--date", DAY])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "cannot connect" in line]
    assert len(said) == 1 and said[0].startswith("warning: summaries: cannot connect to")
    assert "2 kept the extractive TL;DR" in result.output
    assert len(smtp.received) == 1
    body = smtp.received[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "TL;DR: We propose a sparse critic" in body
