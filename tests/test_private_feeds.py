"""Private and fussy feeds: basic and bearer auth, extra headers, User-Agent, cookies.

Against a server on 127.0.0.1 that refuses requests without them. The secrets live
in environment variables the config names, and must never reach the database, the
status output, an error message or the log.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator._app.cli import main
from aggregator.config.settings import load_config
from aggregator.core import RunSummary, run
from aggregator.errors import ConfigError

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
PASSWORD = "s3cret-Pa55word-7f1e"
TOKEN = "tok-9d2c41aa77e0b3"
COOKIE = "session=ck-5be1a9c0"
FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Team</title>'
    b"<link>https://example.org/</link><item><title>Quarterly plan</title>"
    b"<link>https://example.org/plan</link><guid>plan-1</guid></item></channel></rss>"
)
SECRETS = (PASSWORD, TOKEN, COOKIE, base64.b64encode(f"ann:{PASSWORD}".encode()).decode())


def _write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\nbackoff_base = 60\n' + source,
        encoding="utf-8",
    )
    return path


def _guarded(check: dict[str, str]) -> object:
    def handler(request: Request) -> Response:
        for name, value in check.items():
            if request.headers.get(name) != value:
                return Response("no", status=401, headers={"WWW-Authenticate": 'Basic realm="x"'})
        return Response(FEED, content_type="application/rss+xml")

    return handler


def _run(path: Path) -> RunSummary:
    return run(load_config(path), clock=lambda: T0, run_date=T0.date())


def _nothing_leaked(tmp_path: Path, path: Path, summary: RunSummary, log: str) -> None:
    texts = [log, " ".join(str(r.error) for r in summary.failed), repr(load_config(path))]
    for args in (["status"], ["status", "--json"], ["sources", "list"]):
        texts.append(CliRunner().invoke(main, ["--config", str(path), *args]).output)
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in SECRETS:
        assert all(secret not in text for text in texts), secret
        assert secret.encode() not in stored, secret


def test_basic_auth_with_the_password_from_the_environment(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    expected = "Basic " + base64.b64encode(f"ann:{PASSWORD}".encode()).decode()
    httpserver.expect_request("/feed").respond_with_handler(_guarded({"Authorization": expected}))
    monkeypatch.setenv("TEAM_FEED_PASSWORD", PASSWORD)
    path = _write(
        tmp_path,
        f'[[sources]]\nname = "team"\nurl = "{httpserver.url_for("/feed")}"\n'
        'auth = { type = "basic", username = "ann", password_env = "TEAM_FEED_PASSWORD" }\n',
    )
    summary = _run(path)
    assert not summary.failed, summary.failed
    assert summary.sources[0].counts["new"] == 1
    _nothing_leaked(tmp_path, path, summary, caplog.text)


def test_bearer_token_headers_user_agent_and_cookies(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/feed").respond_with_handler(
        _guarded(
            {
                "Authorization": f"Bearer {TOKEN}",
                "X-Team": "research",
                "Accept-Language": "de",
                "User-Agent": "Mozilla/5.0 (compatible; team-reader)",
                "Cookie": COOKIE,
            }
        )
    )
    monkeypatch.setenv("TEAM_TOKEN", TOKEN)
    monkeypatch.setenv("TEAM_COOKIES", COOKIE)
    path = _write(
        tmp_path,
        f'[[sources]]\nname = "team"\nurl = "{httpserver.url_for("/feed")}"\n'
        'auth = { type = "bearer", token_env = "TEAM_TOKEN" }\n'
        'headers = { X-Team = "research", Accept-Language = "de" }\n'
        'user_agent = "Mozilla/5.0 (compatible; team-reader)"\n'
        'cookies_env = "TEAM_COOKIES"\n',
    )
    summary = _run(path)
    assert not summary.failed, summary.failed
    assert summary.sources[0].counts["new"] == 1
    _nothing_leaked(tmp_path, path, summary, caplog.text)


def test_a_refused_password_fails_the_source_and_says_so_without_it(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/feed").respond_with_handler(_guarded({"Authorization": "Basic x"}))
    httpserver.expect_request("/open").respond_with_data(FEED, content_type="application/rss+xml")
    monkeypatch.setenv("TEAM_FEED_PASSWORD", PASSWORD)
    path = _write(
        tmp_path,
        f'[[sources]]\nname = "team"\nurl = "{httpserver.url_for("/feed")}"\n'
        'auth = { type = "basic", username = "ann", password_env = "TEAM_FEED_PASSWORD" }\n'
        f'[[sources]]\nname = "open"\nurl = "{httpserver.url_for("/open")}"\n',
    )
    summary = _run(path)
    (failed,) = summary.failed
    assert failed.name == "team" and "401" in str(failed.error)
    assert "check the password or token" in str(failed.error)
    assert summary.sources[1].counts["new"] == 1
    _nothing_leaked(tmp_path, path, summary, caplog.text)


def test_an_unset_variable_fails_only_its_source_and_names_the_variable(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/open").respond_with_data(FEED, content_type="application/rss+xml")
    monkeypatch.delenv("TEAM_TOKEN", raising=False)
    path = _write(
        tmp_path,
        f'[[sources]]\nname = "team"\nurl = "{httpserver.url_for("/feed")}"\n'
        'auth = { type = "bearer", token_env = "TEAM_TOKEN" }\n'
        f'[[sources]]\nname = "open"\nurl = "{httpserver.url_for("/open")}"\n',
    )
    summary = _run(path)
    (failed,) = summary.failed
    assert "TEAM_TOKEN (auth.token_env) is not set" in str(failed.error)
    assert summary.sources[1].counts["new"] == 1
    assert all(request.path != "/feed" for request, _ in httpserver.log)
    status = CliRunner().invoke(main, ["--config", str(path), "status", "--json"])
    rows = {row["name"]: row for row in json.loads(status.output)}
    assert "TEAM_TOKEN" in json.dumps(rows["team"])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            'auth = { type = "basic", username = "ann" }',
            "basic auth needs username and password_env",
        ),
        (
            'auth = { type = "bearer", token_env = "tok-9d2c41" }',
            "not an environment variable name",
        ),
        ('auth = { type = "digest", token_env = "T" }', "unknown auth type 'digest'"),
        ('auth = { type = "bearer", token = "T" }', "unknown key"),
        ('headers = { Authorization = "Bearer x" }', "the Authorization header is not set here"),
        ('headers = { "Bad Name" = "x" }', "is not an HTTP header name"),
        ('headers = { X-A = "one\\ntwo" }', "one line"),
        ('cookies_env = "session=abc"', "not an environment variable name"),
    ],
)
def test_bad_access_keys_are_config_errors_naming_the_key(
    tmp_path: Path, keys: str, message: str
) -> None:
    path = _write(tmp_path, f'[[sources]]\nname = "team"\nurl = "https://example.org/f"\n{keys}\n')
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "sources[0] (team)" in str(info.value.key)


def test_access_keys_need_a_url(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[sources]]\nname = "local"\npath = "f.xml"\nuser_agent = "x"\n')
    with pytest.raises(ConfigError, match="for sources with a url"):
        load_config(path)
