"""A damaged database: every command says so in one line and exits 3; ``aggregator
check`` says what is wrong and what to do; Ctrl-C exits 130 and leaves the database
consistent (issue 12, item 7).

The damage is real: a database written by a run, then a b-tree page of the entries
table in the middle of the file overwritten on disk, or a file that is not a database
at all. The commands run in-process through click's runner (exit code, standard
output and standard error as a user sees them); Ctrl-C is a real SIGINT to a real run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import NOW, SEEDS
from crashkit import cli, run_to_end
from smtpserver import email_config

from aggregator._app.cli import main
from aggregator._storage.sqlite import MIGRATIONS, Store
from aggregator._storage.sqlite.check import inspect_database
from aggregator.config.settings import load_config
from aggregator.core import run

pytestmark = pytest.mark.sqlite_only(
    reason="`aggregator check` inspects SQLite files (damaged pages, repair)"
)

NEWEST = MIGRATIONS[-1][0]

#: Every command that opens the database, as a user types it.
COMMANDS = [
    ["run", "--no-send"],
    ["fetch"],
    ["publish"],
    ["digest", "--date", "2026-01-14"],
    ["digest", "--date", "2026-01-14", "--print", "text"],
    ["status"],
    ["status", "--json"],
    ["send", "--date", "2026-01-14", "--dry-run"],
    ["dupes", "list"],
    ["dupes", "explain", "1"],
    ["dupes", "split", "1"],
    ["dupes", "reindex"],
    ["sources", "reset", "--all"],
]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder with a config (mail to a closed port, never reached) and a database
    written by a real run."""
    (tmp_path / "aggregator.toml").write_text(email_config(str(SEEDS), 9), encoding="utf-8")
    summary = run(load_config(tmp_path / "aggregator.toml"), clock=lambda: NOW)
    assert not summary.failed
    return tmp_path


def invoke(folder: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(folder / "aggregator.toml"), *args])


def damage_a_page_of_entries(database: Path) -> int:
    """Overwrite the header of a leaf page of the entries table in the middle of the
    file, as a bad disk block would; returns its page number."""
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        leaves = [
            int(page)
            for (page,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'entries' AND pagetype = 'leaf'"
                " ORDER BY pageno"
            )
        ]
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        total = int(conn.execute("PRAGMA page_count").fetchone()[0])
    finally:
        conn.close()
    assert len(leaves) > 4
    page = leaves[len(leaves) // 2]
    assert 1 < page < total  # in the middle of the file, not its first or last page
    with database.open("r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(b"\xff" * 16)
    return page


def one_line(result: Result) -> str:
    """The single line a failing command printed on standard error."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_says_a_damaged_database_is_damaged(site: Path, args: list[str]) -> None:
    database = site / "db.sqlite"
    damage_a_page_of_entries(database)
    result = invoke(site, *args)
    assert result.exit_code == 3, result.output
    line = one_line(result)
    assert re.fullmatch(
        rf"error: database {re.escape(str(database))} is damaged: .+ \(run `aggregator check`\)",
        line,
    ), line
    assert result.stdout == ""


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_says_a_file_is_not_a_database(site: Path, args: list[str]) -> None:
    database = site / "db.sqlite"
    database.write_bytes(b"just some text, not SQLite\n" * 300)
    result = invoke(site, *args)
    assert result.exit_code == 3, result.output
    assert one_line(result) == (
        f"error: {database} is not an SQLite database, or its first page is damaged"
        " (check [storage] database names the right file, or run `aggregator check`)"
    )
    assert database.read_bytes() == b"just some text, not SQLite\n" * 300


def test_a_damaged_database_is_left_as_it_was(site: Path) -> None:
    """Commands refuse before writing; only `run` and `fetch`, which skip the whole-file
    check, record their run (a write in pages of their own) and add no damage."""
    database = site / "db.sqlite"
    damage_a_page_of_entries(database)
    before = database.read_bytes()
    found = inspect_database(database)
    for args in COMMANDS:
        if args[0] not in ("run", "fetch"):
            invoke(site, *args)
    assert database.read_bytes() == before
    for args in (["run", "--no-send"], ["fetch"]):
        invoke(site, *args)
    after = inspect_database(database)
    assert after.problems == found.problems and after.damaged_tables == ("entries",)


def test_check_finds_the_damage_and_says_what_to_do(site: Path) -> None:
    database = site / "db.sqlite"
    page = damage_a_page_of_entries(database)
    result = invoke(site, "check")
    assert result.exit_code == 3, result.output
    out = result.stdout
    assert out.startswith(f"Database: {database} (")
    assert f"schema {NEWEST}; this aggregator's: {NEWEST}" in out
    assert re.search(r"Integrity check: \d+ problems?, in entries:", out), out
    assert "The database is damaged." in out
    quoted = str(database.resolve())
    assert f"cp /path/to/backup.db {quoted}" in out
    assert f"sqlite3 {quoted} .recover | sqlite3 {site.resolve()}/db.recovered.sqlite" in out
    assert f"aggregator --config {(site / 'aggregator.toml').resolve()} check --repair" in out
    quick = invoke(site, "check", "--quick")
    assert quick.exit_code == 3 and "Quick check:" in quick.stdout
    assert page > 1


def test_check_on_a_sound_database(site: Path) -> None:
    result = invoke(site, "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "Integrity check: ok",
        "Foreign keys: ok",
        "The database is sound.",
    ]


def test_check_on_a_file_that_is_not_a_database(site: Path) -> None:
    (site / "db.sqlite").write_bytes(b"\x00not sqlite" * 500)
    result = invoke(site, "check")
    assert result.exit_code == 3
    assert "SQLite cannot read it: file is not a database" in result.stdout
    assert "If [storage] database names the wrong file, fix the path." in result.stdout


def test_check_without_a_database_exits_2_and_creates_none(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text('[storage]\ndatabase = "nothing.db"\n')
    result = invoke(tmp_path, "check")
    assert result.exit_code == 2
    assert one_line(result).startswith(
        f"error: {tmp_path / 'aggregator.toml'}: storage.database: no database at"
    )
    assert not (tmp_path / "nothing.db").exists()


def test_a_database_from_a_newer_aggregator_is_refused(site: Path) -> None:
    conn = sqlite3.connect(site / "db.sqlite")
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', 'now')", [NEWEST + 5])
    conn.commit()
    conn.close()
    checked = invoke(site, "check")
    assert checked.exit_code == 3
    assert f"written by a newer aggregator (schema {NEWEST + 5}; this one knows up to" in (
        checked.stdout
    )
    result = invoke(site, "publish")
    assert result.exit_code == 3
    assert "was written by a newer aggregator" in one_line(result)


def test_an_older_schema_is_reported_and_upgraded_by_run(site: Path) -> None:
    database = site / "db.sqlite"
    conn = sqlite3.connect(database)
    conn.execute("DROP TABLE digests_due")  # as migrations 10 and later never happened
    conn.execute("CREATE INDEX deliveries_updated ON deliveries (updated_at)")
    # Migration 23 dropped migration 6's index of band keys by signature and trigger.
    conn.execute("CREATE INDEX lsh_bands_sig ON lsh_bands (sig_id)")
    conn.execute(
        "CREATE TRIGGER entry_signatures_delete AFTER DELETE ON entry_signatures"
        " BEGIN DELETE FROM lsh_bands WHERE sig_id = OLD.id; END"
    )
    conn.execute("DROP TABLE lsh_bands_recent")
    conn.execute("ALTER TABLE entries DROP COLUMN raw_authors")
    for trigger in ("entries_insert_search", "entries_update_search"):
        conn.execute(f"DROP TRIGGER {trigger}")
    for table in ("search_pending", "search_text_fts", "search_text"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TABLE entry_scores")
    conn.execute("DROP TABLE secrets")
    conn.execute("DROP TABLE summaries")
    conn.execute("DROP TABLE unsubscribes")
    conn.execute("DROP TABLE queue_results")
    conn.execute("DROP TABLE queue_hosts")
    conn.execute("DROP TABLE article_fetches")
    conn.execute("DELETE FROM schema_migrations WHERE version >= 10")
    conn.commit()
    conn.close()
    checked = invoke(site, "check")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[-1] == (
        f"The database is sound. Its schema is older (9): the next `aggregator run`"
        f" upgrades it to {NEWEST}."
    )
    assert invoke(site, "run", "--no-send").exit_code == 0
    with Store(database) as store:
        assert store.schema_version() == NEWEST


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="needs the sqlite3 command")
def test_the_printed_recovery_commands_work(site: Path) -> None:
    """Follow check's advice word for word: recover, put in place, repair, run. The
    entries lost with the damaged page come back from their sources."""
    database = site / "db.sqlite"
    with Store(database) as store:
        before = {entry.key for entry in store.entries_in_category(None, 1000)}
    damage_a_page_of_entries(database)
    advice = invoke(site, "check").stdout
    steps = advice.split("2. Or save what can still be read")[1].split("Then, in both cases:")
    recover, dump = re.findall(r"^     (sqlite3 .*)$", steps[0], flags=re.MULTILINE)
    shell = re.findall(r"^     ((?:rm|mkdir|for|mv) .*)$", steps[0], flags=re.MULTILINE)
    if subprocess.run(recover, shell=True, check=False).returncode != 0:
        # Some sqlite3 3.40 builds fail .recover with "SQL logic error": the advice
        # gives .dump for them, after removing what .recover began.
        subprocess.run(shell[0], shell=True, check=True)
        subprocess.run(dump, shell=True, check=True)
    for step in shell[1:]:
        subprocess.run(step, shell=True, check=True, executable="/bin/bash")
    assert (site / "db.sqlite.damaged" / "db.sqlite").is_file()

    repaired = invoke(site, "check", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert repaired.stdout.startswith("Repaired: deleted ")
    assert repaired.stdout.rstrip().endswith("The database is sound.")
    done = invoke(site, "run", "--no-send")
    assert done.exit_code == 0, done.output
    with Store(database) as store:
        assert {entry.key for entry in store.entries_in_category(None, 1000)} == before
    assert invoke(site, "check").exit_code == 0


def test_repair_refuses_a_damaged_database(site: Path) -> None:
    database = site / "db.sqlite"
    damage_a_page_of_entries(database)
    before = database.read_bytes()
    result = invoke(site, "check", "--repair")
    assert result.exit_code == 3
    assert "Not repaired: --repair only tidies a database that reads well" in result.stderr
    assert database.read_bytes() == before


def test_ctrl_c_exits_130_in_one_line_and_the_next_run_finishes(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text(email_config(str(SEEDS), 9), encoding="utf-8")
    args = ("run", "--no-send", "--date", "2026-11-23")
    with cli(tmp_path, *args, pause_at="ingest") as process:
        assert process.stderr is not None
        assert process.stderr.readline().strip() == "aggregator: paused at ingest"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip().splitlines() == [
        "interrupted (Ctrl-C): nothing half-done was kept; the next run finishes the rest"
    ]
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
    conn.close()
    again = run_to_end(tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert "Recovered: run #1 was interrupted" in again.stdout
    status = run_to_end(tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert os.path.isfile(tmp_path / "public" / "feeds" / "all.atom")
