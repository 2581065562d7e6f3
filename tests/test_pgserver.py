"""The throwaway PostgreSQL server the PostgreSQL half of the suite runs on."""

from __future__ import annotations

from pathlib import Path

import pgserver
import psycopg
import pytest


def test_each_test_gets_its_own_empty_database(
    postgres_server: pgserver.PostgresServer, pg_url: str
) -> None:
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (1,)
        server_version = conn.info.server_version
    assert str(server_version // 10000) in postgres_server.version
    assert pg_url.startswith("postgresql://aggregator@127.0.0.1:")


def test_the_server_refuses_a_wrong_database_with_a_clear_error(
    postgres_server: pgserver.PostgresServer,
) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(postgres_server.url("no_such_database")).close()


def test_unavailable_says_why_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pgserver.SWITCH, "off")
    assert pgserver.unavailable() == f"{pgserver.SWITCH}=off"
    monkeypatch.setenv(pgserver.SWITCH, "")
    monkeypatch.setenv(pgserver.BIN_VARIABLE, "/nonexistent")
    reason = pgserver.unavailable()
    assert reason is not None and "not installed" in reason


def test_a_cluster_left_by_a_killed_test_process_is_swept(
    postgres_server: pgserver.PostgresServer,
) -> None:
    """A pytest killed by a timeout stops no cluster: the next start stops and removes it."""
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    code = "import sys, time; import pgserver; s = pgserver.start(); print(s.folder, flush=True)"
    with subprocess.Popen(
        [sys.executable, "-c", code + "; time.sleep(120)"],
        cwd=ROOT / "tests",
        stdout=subprocess.PIPE,
        text=True,
    ) as orphan:
        assert orphan.stdout is not None
        folder = orphan.stdout.readline().strip()
        orphan.send_signal(signal.SIGKILL)
        orphan.wait()
    assert (Path(folder) / "data" / "postmaster.pid").exists()  # still running
    pgserver.sweep(postgres_server.programs)
    assert not Path(folder).exists()
    assert postgres_server.folder.exists()  # ours, alive, kept
