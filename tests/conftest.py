"""Shared fixtures: a fixed clock, the repository paths, a config writer, a parse counter,
and a throwaway PostgreSQL server (see pgserver.py) with a fresh database per test.
``AGGREGATOR_TEST_BACKEND=postgresql`` runs the whole suite on PostgreSQL (see
pgbackend.py); tests about the SQLite file itself are marked ``sqlite_only``."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pgbackend
import pgserver
import pytest
import storagetests
from pytest_httpserver import HTTPServer

from aggregator._update import reading
from aggregator.config.settings import StorageSettings
from benchmarks import feeds as generator

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"

#: The fixed "now" of the tests: 2026-11-23 07:30 UTC.
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config file into tmp_path; seeds are reachable as {seeds}."""

    def write(text: str) -> Path:
        path = tmp_path / "aggregator.toml"
        path.write_text(text.replace("{seeds}", str(SEEDS)), encoding="utf-8")
        return path

    return write


Parses = list[str]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Parses:
    """The names of the sources parsed, in order."""
    seen: Parses = []
    real = reading.get_parser

    def counting(kind: str, engine: str = "auto") -> Callable[..., object]:
        parse = real(kind, engine)

        def wrapped(data: bytes, *, source: str, **kwargs: object) -> object:
            seen.append(source)
            return parse(data, source=source, **kwargs)

        return wrapped

    monkeypatch.setattr(reading, "get_parser", counting)
    return seen


def serve_generated(httpserver: HTTPServer, count: int, entries: int) -> str:
    """Serve ``count`` benchmark-generated feeds over HTTP; their ``[[sources]]`` config."""
    parts = []
    for index in range(count):
        httpserver.expect_request(f"/feeds/{index}.xml").respond_with_data(
            generator.feed_bytes(index, entries=entries), content_type="application/xml"
        )
        parts.append(
            f'[[sources]]\nname = "feed-{index}"\nkind = "{generator.feed_kind(index)}"\n'
            f'url = "{httpserver.url_for(f"/feeds/{index}.xml")}"\n'
            f'categories = ["{generator.feed_category(index)}"]\n'
        )
    return "\n".join(parts)


# -- PostgreSQL: one throwaway cluster per test process, one new database per test


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pgserver.PostgresServer]:
    """A running PostgreSQL cluster, or the test skipped saying why there is none
    (an error instead when AGGREGATOR_TEST_POSTGRES=required, as in CI)."""
    reason = pgserver.unavailable()
    if reason is not None:
        if os.environ.get(pgserver.SWITCH, "").lower() == "required":
            pytest.fail(f"PostgreSQL is required ({pgserver.SWITCH}=required): {reason}")
        pytest.skip(f"PostgreSQL half skipped: {reason}")
    server = pgserver.start()
    try:
        yield server
    finally:
        server.stop()


_databases = itertools.count(1)


@pytest.fixture
def pg_url(postgres_server: pgserver.PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session", autouse=True)
def config_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    """With AGGREGATOR_TEST_BACKEND=postgresql, configs store in PostgreSQL (see
    pgbackend.py); otherwise nothing."""
    if not pgbackend.ENABLED:
        yield
        return
    server: pgserver.PostgresServer = request.getfixturevalue("postgres_server")
    with pytest.MonkeyPatch.context() as patch:
        pgbackend.start(server, patch)
        try:
            yield
        finally:
            pgbackend.stop()


storagetests.install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    yield from storagetests.around_test(item)
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    storagetests.skipped(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    storagetests.save(os.environ.get("PYTEST_XDIST_WORKER"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    storagetests.deselect(config, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    pgbackend.entering(item)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        pgbackend.leaving(item)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Iterator[Any]:
    pgbackend.setting_up(fixturedef.scope)
    try:
        return (yield)
    finally:
        pgbackend.set_up()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageSettings:
    """The settings of a new database, once per backend (SQLite file, PostgreSQL)."""
    from storekit import storage_settings

    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return storage_settings(request.param, tmp_path, url)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once whether the PostgreSQL half ran (the controller decides as the workers do)."""
    reason = pgserver.unavailable()
    if reason is not None:
        terminalreporter.write_line(f"PostgreSQL half skipped: {reason}", yellow=True)
    else:
        terminalreporter.write_line(
            f"PostgreSQL half: run on a throwaway cluster ({pgserver.bin_dir()})"
        )
